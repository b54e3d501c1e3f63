/**
 * The QStash stand-in is only worth something if the real client and the real Receiver accept it:
 * `@upstash/qstash`'s Client publishes to it (baseUrl) and every callback it makes verifies with
 * `@upstash/qstash`'s Receiver; and what the Receiver must refuse, it refuses.
 */
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { Client, Receiver } from "@upstash/qstash";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { compileRetryDelay, type QStashStandin, startQStashStandin } from "../../support/qstash-standin";

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  verified: boolean;
  error?: string;
}

/** A destination that verifies each call with the real Receiver and answers from a script. */
async function startDestination(receiver: () => Receiver) {
  const received: Received[] = [];
  let script: number[] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString();
    const url = `${base}${req.url}`;
    let verified = false;
    let error: string | undefined;
    try {
      verified = await receiver().verify({
        signature: String(req.headers["upstash-signature"] ?? ""),
        body,
        url,
      });
    } catch (err) {
      error = (err as Error).message;
    }
    received.push({ path: req.url ?? "", headers: req.headers, body, verified, error });
    res.writeHead(req.url?.startsWith("/failed") ? 200 : (script.shift() ?? 200));
    res.end("ok");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    received,
    answerWith(statuses: number[]) {
      script = [...statuses];
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe("QStash stand-in driven by the real @upstash/qstash Client and Receiver", () => {
  let standin: QStashStandin;
  let client: Client;
  let dest: Awaited<ReturnType<typeof startDestination>>;
  let receiver: Receiver;

  beforeAll(async () => {
    standin = await startQStashStandin({ timeScale: 0.001 });
    receiver = new Receiver({
      currentSigningKey: standin.currentSigningKey,
      nextSigningKey: standin.nextSigningKey,
      devMode: false,
    });
    dest = await startDestination(() => receiver);
    client = new Client({
      baseUrl: standin.url,
      token: standin.token,
      retry: false,
      enableTelemetry: false,
      devMode: false,
    });
  });
  afterAll(async () => {
    await standin?.close();
    await dest?.close();
  });
  beforeEach(() => {
    dest.received.length = 0;
    dest.answerWith([]);
    standin.signWith("current");
  });

  it("delivers a published message, signed for its URL, with forwarded headers and QStash's own", async () => {
    const published = await client.publishJSON({
      url: `${dest.base}/deliver?topic=a`,
      body: { id: "evt-1", hello: "wörld" },
      headers: { "X-Correlation-Id": "corr-123" },
      deduplicationId: "evt-1",
      retries: 2,
    });
    expect(published.messageId).toMatch(/^msg_/);
    expect(published.url).toBe(`${dest.base}/deliver?topic=a`);
    await standin.idle();
    expect(dest.received).toHaveLength(1);
    const [got] = dest.received;
    expect(got!.verified).toBe(true);
    expect(got!.path).toBe("/deliver?topic=a");
    expect(JSON.parse(got!.body)).toEqual({ id: "evt-1", hello: "wörld" });
    expect(got!.headers["x-correlation-id"]).toBe("corr-123");
    expect(got!.headers["content-type"]).toBe("application/json");
    expect(got!.headers["upstash-message-id"]).toBe(published.messageId);
    expect(got!.headers["upstash-retried"]).toBe("0");
    expect(got!.headers["user-agent"]).toBe("Upstash-QStash");
    // What the client sent is what the adapter relies on.
    const sent = standin.messages.get(published.messageId)!.publishHeaders;
    expect(sent["upstash-deduplication-id"]).toBe("evt-1");
    expect(sent["upstash-retries"]).toBe("2");
    expect(sent["upstash-forward-x-correlation-id"]).toBe("corr-123");
  });

  it("collapses a duplicate deduplication id: 202 with the first message id, one delivery", async () => {
    const first = await client.publishJSON({
      url: `${dest.base}/deliver`,
      body: { n: 1 },
      deduplicationId: "dup-1",
    });
    const again = await client.publishJSON({
      url: `${dest.base}/deliver`,
      body: { n: 2 },
      deduplicationId: "dup-1",
    });
    expect(again.messageId).toBe(first.messageId);
    expect(again.deduplicated).toBe(true);
    await standin.idle();
    expect(dest.received.map((r) => JSON.parse(r.body))).toEqual([{ n: 1 }]);
  });

  it("retries non-2xx answers on the Retry-Delay schedule, then succeeds", async () => {
    dest.answerWith([500, 503]);
    const { messageId } = await client.publishJSON({
      url: `${dest.base}/deliver`,
      body: { n: 3 },
      retries: 3,
      retryDelay: "1000 * pow(2, retried)",
    });
    await standin.idle();
    expect(dest.received.map((r) => r.headers["upstash-retried"])).toEqual(["0", "1", "2"]);
    expect(dest.received.every((r) => r.verified)).toBe(true);
    const tries = standin.attempts.filter((a) => a.messageId === messageId);
    expect(tries.map((a) => a.status)).toEqual([500, 503, 200]);
    expect(tries.map((a) => a.nextDelayMs)).toEqual([1000, 2000, undefined]);
    expect(standin.messages.get(messageId)!.state).toBe("DELIVERED");
  });

  it("honours Upstash-Delay: nothing is delivered before the delay", async () => {
    const slow = await startQStashStandin({ timeScale: 1 });
    try {
      const c = new Client({
        baseUrl: slow.url,
        token: slow.token,
        retry: false,
        enableTelemetry: false,
        devMode: false,
      });
      const { messageId } = await c.publishJSON({ url: `${dest.base}/deliver`, body: { n: 4 }, delay: 60 });
      const msg = slow.messages.get(messageId)!;
      expect(msg.state).toBe("CREATED");
      expect(msg.notBefore - msg.createdAt).toBe(60_000);
      await new Promise((r) => setTimeout(r, 100));
      expect(dest.received).toHaveLength(0);
    } finally {
      await slow.close();
    }
  });

  it("after the last retry: DLQ and a signed failure callback carrying the source message", async () => {
    dest.answerWith([500, 500, 500]);
    const { messageId } = await client.publishJSON({
      url: `${dest.base}/deliver`,
      body: { id: "evt-dead" },
      headers: { "X-Correlation-Id": "corr-dead" },
      retries: 2,
      retryDelay: "10",
      failureCallback: `${dest.base}/failed`,
    });
    await standin.idle();
    const deliveries = dest.received.filter((r) => r.path === "/deliver");
    expect(deliveries).toHaveLength(3);
    const callback = dest.received.find((r) => r.path === "/failed")!;
    expect(callback.verified).toBe(true);
    const body = JSON.parse(callback.body);
    expect(body).toMatchObject({ status: 500, retried: 2, maxRetries: 2, sourceMessageId: messageId });
    expect(JSON.parse(Buffer.from(body.sourceBody, "base64").toString())).toEqual({ id: "evt-dead" });
    expect(body.sourceHeader["x-correlation-id"]).toEqual(["corr-dead"]);
    expect(standin.dlq.map((m) => m.messageId)).toContain(messageId);
  });

  it("after a key rotation it signs with the next key, which the Receiver accepts", async () => {
    standin.signWith("next");
    await client.publishJSON({ url: `${dest.base}/deliver`, body: { n: 5 } });
    await standin.idle();
    expect(dest.received[0]!.verified).toBe(true);
    // A receiver that knows neither key refuses the same kind of call.
    const stranger = new Receiver({
      currentSigningKey: "a".repeat(32),
      nextSigningKey: "b".repeat(32),
      devMode: false,
    });
    const jwt = await standin.sign({ url: `${dest.base}/deliver`, body: "{}" });
    await expect(
      stranger.verify({ signature: jwt, body: "{}", url: `${dest.base}/deliver` }),
    ).rejects.toThrow();
  });

  it("signs what the Receiver must refuse: another URL, a tampered body, an expired token", async () => {
    const url = `${dest.base}/deliver`;
    const body = JSON.stringify({ id: "x" });
    const good = await standin.sign({ url, body });
    await expect(receiver.verify({ signature: good, body, url })).resolves.toBe(true);
    await expect(receiver.verify({ signature: good, body: `${body} `, url })).rejects.toThrow(/body hash/);
    await expect(receiver.verify({ signature: good, body, url: `${dest.base}/other` })).rejects.toThrow(
      /subject/,
    );
    const expired = await standin.sign({ url, body, iat: Math.floor(Date.now() / 1000) - 600 });
    await expect(receiver.verify({ signature: expired, body, url })).rejects.toThrow();
    // The Receiver falls back to the next key, whose failure it reports; with one key the cause shows.
    const currentOnly = new Receiver({
      currentSigningKey: standin.currentSigningKey,
      nextSigningKey: standin.currentSigningKey,
      devMode: false,
    });
    await expect(currentOnly.verify({ signature: expired, body, url })).rejects.toThrow(/"exp" claim/);
  });

  it("refuses a publish without the token, and what it does not implement", async () => {
    const anonymous = new Client({
      baseUrl: standin.url,
      token: "wrong",
      retry: false,
      enableTelemetry: false,
      devMode: false,
    });
    await expect(anonymous.publishJSON({ url: `${dest.base}/deliver`, body: {} })).rejects.toThrow();
    await expect(
      client.publishJSON({ url: `${dest.base}/deliver`, body: {}, callback: `${dest.base}/cb` }),
    ).rejects.toThrow(/not supported/);
    await expect(
      client.publishJSON({ url: `${dest.base}/deliver`, body: {}, retryDelay: "retried; 1" }),
    ).rejects.toThrow();
  });

  it("evaluates QStash's retry delay grammar", () => {
    expect(compileRetryDelay("1000")(3)).toBe(1000);
    expect(compileRetryDelay("1000 * (1 + retried)")(2)).toBe(3000);
    expect(compileRetryDelay("pow(2, retried) * 1000")(3)).toBe(8000);
    expect(compileRetryDelay("max(1000, pow(2, retried) * 100)")(1)).toBe(1000);
    expect(
      compileRetryDelay("-2 + abs(-3) * floor(2.7) - ceil(0.2) / round(0.6) + sqrt(16) + min(1, 2, 0)")(0),
    ).toBe(7);
    expect(() => compileRetryDelay("process.exit(1)")).toThrow();
    expect(() => compileRetryDelay("1000 +")).toThrow();
  });
});
