/**
 * A webhook receiver on 127.0.0.1 that checks every delivery with the reference Standard Webhooks
 * library (`standardwebhooks`, not our signer): the signature against the secrets it knows (any
 * one valid signature is enough, as during a rotation), the timestamp within 5 minutes (the
 * library's tolerance), and refuses a replay of a message it already accepted (same id and same
 * signature). A new attempt of the same event (same webhook-id, fresh signature) is answered 2xx
 * and counted as a duplicate. `respond` scripts the answer per request.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";

export interface ReceivedDelivery {
  id: string;
  timestamp: number;
  signature: string;
  headers: Record<string, string>;
  body: string;
  /** The parsed body when a known secret verified it; null otherwise. */
  verified: { type: string; timestamp: string; data: Record<string, unknown> } | null;
  error: string | null;
  path: string;
  status: number;
}

export type Responder = (d: ReceivedDelivery) => {
  status: number;
  headers?: Record<string, string>;
  body?: string;
};

export interface WebhookReceiver {
  port: number;
  url: (path?: string) => string;
  /** Secrets the receiver verifies with (replace to simulate a receiver that moved to the new one). */
  secrets: string[];
  deliveries: ReceivedDelivery[];
  /** Accepted (2xx and verified) deliveries, each webhook-id once. */
  accepted(): ReceivedDelivery[];
  respond: Responder;
  close(): Promise<void>;
}

/** Runs a synchronous verification with `Date.now` answering the receiver's clock. */
function verifyAt<T>(now: (() => number) | undefined, fn: () => T): T {
  if (!now) return fn();
  const real = Date.now;
  Date.now = now;
  try {
    return fn();
  } finally {
    Date.now = real;
  }
}

const ok: Responder = () => ({ status: 200, body: "ok" });

export async function startWebhookReceiver(
  options: {
    secrets?: string[];
    respond?: Responder;
    /** The receiver's clock for the 5-minute tolerance (tests whose sender runs on a test clock). */
    now?: () => number;
  } = {},
) {
  const seenSignatures = new Set<string>();
  const acceptedIds = new Map<string, ReceivedDelivery>();
  const receiver = {
    port: 0,
    secrets: options.secrets ?? [],
    deliveries: [] as ReceivedDelivery[],
    respond: options.respond ?? ok,
  } as WebhookReceiver;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers[k] = v;
      const d: ReceivedDelivery = {
        id: headers["webhook-id"] ?? "",
        timestamp: Number(headers["webhook-timestamp"]),
        signature: headers["webhook-signature"] ?? "",
        headers,
        body: Buffer.concat(chunks).toString("utf8"),
        verified: null,
        error: null,
        path: req.url ?? "/",
        status: 0,
      };
      for (const secret of receiver.secrets) {
        try {
          d.verified = verifyAt(options.now, () =>
            new Webhook(secret).verify(d.body, headers),
          ) as ReceivedDelivery["verified"];
          d.error = null;
          break;
        } catch (err) {
          d.error = (err as Error).message;
        }
      }
      if (!receiver.secrets.length) d.error = "no secret configured";
      receiver.deliveries.push(d);
      if (!d.verified) {
        d.status = 400;
        res.writeHead(400).end(d.error ?? "bad signature");
        return;
      }
      const replayKey = `${d.id} ${d.timestamp} ${d.signature}`;
      if (seenSignatures.has(replayKey)) {
        d.status = 409;
        d.error = "replayed message";
        res.writeHead(409).end("replayed");
        return;
      }
      const answer = receiver.respond(d);
      d.status = answer.status;
      // Only an accepted message is remembered: a retry follows a refusal, so it never repeats one.
      if (answer.status >= 200 && answer.status < 300) {
        seenSignatures.add(replayKey);
        if (!acceptedIds.has(d.id)) acceptedIds.set(d.id, d);
      }
      res.writeHead(answer.status, answer.headers ?? {}).end(answer.body ?? "");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  receiver.port = (server.address() as AddressInfo).port;
  receiver.url = (path = "/hook") => `http://127.0.0.1:${receiver.port}${path}`;
  receiver.accepted = () => [...acceptedIds.values()];
  receiver.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return receiver;
}

/** A server that records whether anything ever connected to it (redirect and SSRF targets). */
export async function startTrap() {
  let hits = 0;
  const server = http.createServer((_req, res) => {
    hits++;
    res.writeHead(200).end("trap");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    hits: () => hits,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
