/**
 * Runs in workerd: `POST /publish` publishes one outbox event with the real QStash transport
 * (src/platform/queue/qstash.ts) to QSTASH_URL; `POST /callback` verifies what QStash sends with
 * the real Receiver, as the edge consumer route does; `GET /seen` lists the callbacks.
 */
import { Receiver } from "@upstash/qstash";
import { createJsonLogger } from "../../../../src/platform/log/json";
import { createQStashQueue } from "../../../../src/platform/queue/qstash";

interface Env {
  QSTASH_URL: string;
  QSTASH_TOKEN: string;
  QSTASH_CURRENT_SIGNING_KEY: string;
  QSTASH_NEXT_SIGNING_KEY: string;
}

const seen: Array<{ verified: boolean; error?: string; body: string; correlationId: string | null }> = [];

export default {
  async fetch(req: Request, env: Env): Promise<Response> {
    const url = new URL(req.url);
    if (url.pathname === "/health") return new Response("ok");
    if (url.pathname === "/seen") return Response.json(seen);
    if (url.pathname === "/publish" && req.method === "POST") {
      const { id, destination } = (await req.json()) as { id: string; destination: string };
      const published: string[] = [];
      const queue = createQStashQueue({
        token: env.QSTASH_TOKEN,
        baseUrl: env.QSTASH_URL,
        deliverUrl: () => destination,
        failureUrl: () => `${destination}/failed`,
        markPublished: async (ids) => {
          published.push(...ids);
        },
        logger: createJsonLogger({ level: "warn" }),
      });
      await queue.enqueue([
        {
          id,
          topic: "probe.workerd",
          buildingId: null,
          availableAt: new Date(),
          correlationId: "corr-workerd",
          policy: { retries: 1, delaysMs: [100] },
        },
      ]);
      return Response.json({ published, runtime: navigator.userAgent });
    }
    if (url.pathname === "/callback" && req.method === "POST") {
      const body = await req.text();
      const receiver = new Receiver({
        currentSigningKey: env.QSTASH_CURRENT_SIGNING_KEY,
        nextSigningKey: env.QSTASH_NEXT_SIGNING_KEY,
        devMode: false,
      });
      const correlationId = req.headers.get("x-correlation-id");
      try {
        await receiver.verify({ signature: req.headers.get("upstash-signature") ?? "", body, url: req.url });
        seen.push({ verified: true, body, correlationId });
        return new Response("ok");
      } catch (err) {
        seen.push({ verified: false, error: String(err), body, correlationId });
        return new Response("refused", { status: 401 });
      }
    }
    return new Response("not found", { status: 404 });
  },
};
