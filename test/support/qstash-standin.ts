/**
 * Local stand-in for QStash (there is no local QStash here: @upstash/qstash-cli downloads a
 * binary). It speaks the part of the API the queue adapter uses, so `@upstash/qstash`'s Client
 * publishes to it unchanged (`baseUrl`) and its callbacks verify with the real `Receiver`:
 *
 *   POST /v2/publish/<destination url>     Authorization: Bearer <token>  → 401 without it
 *     Upstash-Method, Upstash-Delay (10s|5m|2h|1d), Upstash-Not-Before (unix s),
 *     Upstash-Retries, Upstash-Retry-Delay (expression in ms over `retried`, from 0),
 *     Upstash-Deduplication-Id | Upstash-Content-Based-Deduplication,
 *     Upstash-Failure-Callback (+ Upstash-Failure-Callback-Forward-*), Upstash-Forward-*,
 *     Upstash-Timeout
 *   → 201 { messageId, url }; a duplicate inside the dedup window → 202 { messageId, url,
 *     deduplicated: true } with the first message's id, and nothing is enqueued.
 *
 * Delivery calls the destination with the body as published, `Upstash-Signature` (HS256 JWT:
 * iss "Upstash", sub = destination URL, iat/nbf = now, exp = now + 5 min, jti, body = base64url
 * SHA-256 of the body, padded), `Upstash-Message-Id`, `Upstash-Retried`, `User-Agent:
 * Upstash-QStash`, the Content-Type and the forwarded headers. A non-2xx answer, a refused
 * connection or a timeout is retried after the Retry-Delay expression (default
 * min(86400, e^(2.5·n)) s); after `1 + retries` attempts the message goes to the DLQ and the
 * failure callback is called (signed for its own URL) with QStash's callback body: status,
 * header, base64 body, retried, maxRetries, dlqId, sourceMessageId, url, method, sourceHeader,
 * sourceBody (base64), notBefore, createdAt.
 *
 * What it does not do, and answers 400 for rather than ignore: URL groups, queues, schedules,
 * success callbacks, flow control. `timeScale` shrinks every wait (delay and retry delay) so
 * tests of 1/2/4 s schedules run in milliseconds; the signature times are always real.
 */
import { createHash, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { SignJWT } from "jose";

export interface QStashStandinOptions {
  token?: string;
  currentSigningKey?: string;
  nextSigningKey?: string;
  /** Retries when a publish sends no Upstash-Retries (QStash uses the plan's maximum). */
  defaultRetries?: number;
  /** Most retries a publish may ask for (the plan's limit); more answers 400. */
  maxRetries?: number;
  /** How long a deduplication id is remembered. */
  dedupWindowMs?: number;
  /** Multiplies every wait (delays, retry delays); 1 = real time. */
  timeScale?: number;
  /** A delivery attempt that has not answered after this fails (Upstash-Timeout overrides). */
  deliveryTimeoutMs?: number;
  /** Lifetime of a callback's JWT. */
  signatureTtlSeconds?: number;
}

export type MessageState = "CREATED" | "ACTIVE" | "RETRY" | "DELIVERED" | "FAILED";

export interface DeliveryAttempt {
  messageId: string;
  url: string;
  /** Upstash-Retried of this attempt: 0 for the first. */
  retried: number;
  /** HTTP status, or 0 when the call failed (refused, reset, timed out). */
  status: number;
  error?: string;
  at: number;
  kind: "delivery" | "failure-callback";
  /** The wait (unscaled ms) planned before the next attempt, when this one is retried. */
  nextDelayMs?: number;
}

export interface StandinMessage {
  messageId: string;
  url: string;
  method: string;
  body: Buffer;
  /** Headers the destination receives besides QStash's own (Content-Type, forwarded). */
  headers: Record<string, string>;
  retries: number;
  retryDelay?: string;
  notBefore: number;
  createdAt: number;
  failureCallback?: string;
  failureCallbackHeaders: Record<string, string>;
  deduplicationId?: string;
  timeoutMs: number;
  state: MessageState;
  retried: number;
  dlqId?: string;
  /** The raw publish request's headers (for assertions on what the adapter sent). */
  publishHeaders: Record<string, string>;
}

export interface QStashStandin {
  url: string;
  port: number;
  token: string;
  currentSigningKey: string;
  nextSigningKey: string;
  messages: Map<string, StandinMessage>;
  attempts: DeliveryAttempt[];
  dlq: StandinMessage[];
  /** Which key signs from now on: "next" is what QStash does after a key rotation. */
  signWith(which: "current" | "next"): void;
  /** A JWT as QStash would send it (tests forge expired or mis-addressed ones with it). */
  sign(input: SignInput): Promise<string>;
  /** Resolves once no message is waiting, in flight or owed a failure callback. */
  idle(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export interface SignInput {
  url: string;
  body: string | Uint8Array;
  key?: string;
  /** Issue time in unix seconds (default now). */
  iat?: number;
  ttlSeconds?: number;
}

const DAY_MS = 86_400_000;

/** base64url SHA-256 with `=` padding, as QStash writes the `body` claim. */
export function bodyHash(body: string | Uint8Array): string {
  const b64 = createHash("sha256").update(body).digest("base64url");
  return b64 + "=".repeat((4 - (b64.length % 4)) % 4);
}

export async function signQStashJwt(input: SignInput & { key: string }): Promise<string> {
  const iat = input.iat ?? Math.floor(Date.now() / 1000);
  return new SignJWT({ body: bodyHash(input.body) })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer("Upstash")
    .setSubject(input.url)
    .setIssuedAt(iat)
    .setNotBefore(iat)
    .setExpirationTime(iat + (input.ttlSeconds ?? 300))
    .setJti(`jwt_${randomBytes(12).toString("base64url")}`)
    .sign(new TextEncoder().encode(input.key));
}

// ---- Upstash-Retry-Delay expressions ------------------------------------------------------

const FUNCTIONS: Record<string, (...args: number[]) => number> = {
  pow: (a, b) => a! ** b!,
  sqrt: (a) => Math.sqrt(a!),
  abs: (a) => Math.abs(a!),
  exp: (a) => Math.exp(a!),
  floor: (a) => Math.floor(a!),
  ceil: (a) => Math.ceil(a!),
  round: (a) => Math.round(a!),
  min: (...xs) => Math.min(...xs),
  max: (...xs) => Math.max(...xs),
};

type Expr = (retried: number) => number;

/**
 * Compiles a retry delay expression (QStash's grammar: numbers, `retried`, + - * /, parentheses
 * and pow sqrt abs exp floor ceil round min max). Throws on anything else, as QStash refuses it.
 */
export function compileRetryDelay(source: string): Expr {
  const tokens = source.match(/\d+(?:\.\d+)?|[A-Za-z_]+|[-+*/(),]|\S/g) ?? [];
  let i = 0;
  const peek = () => tokens[i];
  const take = (want?: string) => {
    const t = tokens[i++];
    if (t === undefined || (want !== undefined && t !== want))
      throw new Error(`retry delay expression: expected ${want ?? "a term"} at token ${i}`);
    return t;
  };
  const sum = (): Expr => {
    let left = product();
    while (peek() === "+" || peek() === "-") {
      const op = take();
      const l = left;
      const r = product();
      left = op === "+" ? (n) => l(n) + r(n) : (n) => l(n) - r(n);
    }
    return left;
  };
  const product = (): Expr => {
    let left = unary();
    while (peek() === "*" || peek() === "/") {
      const op = take();
      const l = left;
      const r = unary();
      left = op === "*" ? (n) => l(n) * r(n) : (n) => l(n) / r(n);
    }
    return left;
  };
  const unary = (): Expr => {
    if (peek() === "-") {
      take();
      const inner = unary();
      return (n) => -inner(n);
    }
    return primary();
  };
  const primary = (): Expr => {
    const t = take();
    if (/^\d/.test(t)) {
      const v = Number(t);
      return () => v;
    }
    if (t === "retried") return (n) => n;
    if (t === "(") {
      const inner = sum();
      take(")");
      return inner;
    }
    const fn = Object.hasOwn(FUNCTIONS, t) ? FUNCTIONS[t] : undefined;
    if (!fn) throw new Error(`retry delay expression: unknown term "${t}"`);
    take("(");
    const args: Expr[] = [sum()];
    while (peek() === ",") {
      take(",");
      args.push(sum());
    }
    take(")");
    return (n) => fn(...args.map((a) => a(n)));
  };
  const expr = sum();
  if (i !== tokens.length) throw new Error(`retry delay expression: unexpected "${tokens[i]}"`);
  return expr;
}

/** QStash's default backoff before retry n + 1: min(1 day, e^(2.5·(n + 1)) s). */
const defaultBackoffMs = (retried: number) => Math.min(DAY_MS, Math.exp(2.5 * (retried + 1)) * 1000);

function parseDelay(value: string): number {
  const m = /^(\d+)(s|m|h|d)$/.exec(value.trim());
  if (!m) throw new Error(`invalid Upstash-Delay "${value}"`);
  return Number(m[1]) * { s: 1_000, m: 60_000, h: 3_600_000, d: DAY_MS }[m[2] as "s"];
}

function parseDuration(value: string): number {
  const m = /^(\d+)(s|m|h|d)?$/.exec(value.trim());
  if (!m) throw new Error(`invalid duration "${value}"`);
  return Number(m[1]) * { s: 1_000, m: 60_000, h: 3_600_000, d: DAY_MS }[(m[2] ?? "s") as "s"];
}

function httpUrl(value: string): string {
  const u = new URL(value);
  if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error("not an http(s) url");
  return value;
}

// ---- the server -------------------------------------------------------------------------

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function answer(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

const newId = (prefix: string) => `${prefix}_${randomBytes(14).toString("base64url")}`;

export async function startQStashStandin(options: QStashStandinOptions = {}): Promise<QStashStandin> {
  const token = options.token ?? `qstash-standin-${randomBytes(8).toString("hex")}`;
  const currentSigningKey = options.currentSigningKey ?? `sig_current_${randomBytes(16).toString("hex")}`;
  const nextSigningKey = options.nextSigningKey ?? `sig_next_${randomBytes(16).toString("hex")}`;
  const defaultRetries = options.defaultRetries ?? 3;
  const maxRetries = options.maxRetries ?? 5;
  const dedupWindowMs = options.dedupWindowMs ?? 90 * DAY_MS;
  const scale = options.timeScale ?? 1;
  const deliveryTimeoutMs = options.deliveryTimeoutMs ?? 30_000;
  const ttl = options.signatureTtlSeconds ?? 300;
  let signingKey = currentSigningKey;

  const messages = new Map<string, StandinMessage>();
  const attempts: DeliveryAttempt[] = [];
  const dlq: StandinMessage[] = [];
  const dedup = new Map<string, { messageId: string; at: number }>();
  const timers = new Set<NodeJS.Timeout>();
  let busy = 0;
  let idleWaiters: Array<() => void> = [];
  let closed = false;

  const settle = () => {
    busy--;
    if (busy === 0) {
      const waiters = idleWaiters;
      idleWaiters = [];
      for (const w of waiters) w();
    }
  };
  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(
      () => {
        timers.delete(t);
        if (!closed) fn();
      },
      Math.max(0, ms * scale),
    );
    timers.add(t);
  };

  async function call(
    url: string,
    method: string,
    headers: Record<string, string>,
    body: Buffer,
    timeoutMs: number,
  ): Promise<{ status: number; headers: Record<string, string[]>; body: Buffer; error?: string }> {
    try {
      const res = await fetch(url, {
        method,
        headers: {
          ...headers,
          "User-Agent": "Upstash-QStash",
          "Upstash-Signature": await signQStashJwt({ url, body, key: signingKey, ttlSeconds: ttl }),
        },
        body: method === "GET" || method === "HEAD" ? undefined : new Uint8Array(body),
        signal: AbortSignal.timeout(timeoutMs),
        redirect: "manual",
      });
      const out: Record<string, string[]> = {};
      res.headers.forEach((v, k) => {
        out[k] = [...(out[k] ?? []), v];
      });
      return { status: res.status, headers: out, body: Buffer.from(await res.arrayBuffer()) };
    } catch (err) {
      return { status: 0, headers: {}, body: Buffer.alloc(0), error: String((err as Error).cause ?? err) };
    }
  }

  function attempt(msg: StandinMessage) {
    msg.state = "ACTIVE";
    const headers = {
      ...msg.headers,
      "Upstash-Message-Id": msg.messageId,
      "Upstash-Retried": String(msg.retried),
    };
    void call(msg.url, msg.method, headers, msg.body, msg.timeoutMs).then((res) => {
      const record: DeliveryAttempt = {
        messageId: msg.messageId,
        url: msg.url,
        retried: msg.retried,
        status: res.status,
        error: res.error,
        at: Date.now(),
        kind: "delivery",
      };
      attempts.push(record);
      if (closed) return settle();
      if (res.status >= 200 && res.status < 300) {
        msg.state = "DELIVERED";
        return settle();
      }
      if (msg.retried < msg.retries) {
        const planned = msg.retryDelay
          ? compileRetryDelay(msg.retryDelay)(msg.retried)
          : defaultBackoffMs(msg.retried);
        const wait = Math.min(DAY_MS, Math.max(0, planned));
        record.nextDelayMs = wait;
        msg.retried++;
        msg.state = "RETRY";
        later(wait, () => attempt(msg));
        return;
      }
      msg.state = "FAILED";
      msg.dlqId = `${Date.now()}-${dlq.length}`;
      dlq.push(msg);
      if (!msg.failureCallback) return settle();
      void failureCallback(msg, res).finally(settle);
    });
  }

  async function failureCallback(
    msg: StandinMessage,
    last: { status: number; headers: Record<string, string[]>; body: Buffer },
  ) {
    const url = msg.failureCallback!;
    const body = Buffer.from(
      JSON.stringify({
        status: last.status,
        header: last.headers,
        body: last.body.toString("base64"),
        retried: msg.retried,
        maxRetries: msg.retries,
        dlqId: msg.dlqId,
        sourceMessageId: msg.messageId,
        url: msg.url,
        method: msg.method,
        sourceHeader: Object.fromEntries(Object.entries(msg.headers).map(([k, v]) => [k, [v]])),
        sourceBody: msg.body.toString("base64"),
        notBefore: String(msg.notBefore),
        createdAt: String(msg.createdAt),
      }),
    );
    const headers = {
      ...msg.failureCallbackHeaders,
      "Content-Type": "application/json",
      "Upstash-Message-Id": newId("msg"),
    };
    // The callback is a message of its own, retried like one (Upstash-Failure-Callback-Retries).
    for (let retried = 0; retried <= defaultRetries && !closed; retried++) {
      const res = await call(
        url,
        "POST",
        { ...headers, "Upstash-Retried": String(retried) },
        body,
        msg.timeoutMs,
      );
      attempts.push({
        messageId: msg.messageId,
        url,
        retried,
        status: res.status,
        error: res.error,
        at: Date.now(),
        kind: "failure-callback",
      });
      if (res.status >= 200 && res.status < 300) return;
      await new Promise((r) => later(defaultBackoffMs(retried), () => r(undefined)));
    }
  }

  async function publish(req: IncomingMessage, res: ServerResponse) {
    if (req.headers.authorization !== `Bearer ${token}`) return answer(res, 401, { error: "Unauthorized" });
    const raw = (req.url ?? "").slice("/v2/publish/".length);
    const h = (name: string) => {
      const v = req.headers[name.toLowerCase()];
      return Array.isArray(v) ? v.join(", ") : v;
    };
    const body = await readBody(req);
    let msg: StandinMessage;
    try {
      const dest = /^https?%3A/i.test(raw) ? decodeURIComponent(raw) : raw;
      if (!/^https?:\/\//.test(dest))
        throw new Error("destination must be a URL (URL groups and APIs are not supported by the stand-in)");
      const url = httpUrl(dest);
      for (const unsupported of [
        "upstash-callback",
        "upstash-queue-name",
        "upstash-cron",
        "upstash-flow-control-key",
      ])
        if (h(unsupported) !== undefined) throw new Error(`${unsupported} is not supported by the stand-in`);
      const retries = h("upstash-retries") === undefined ? defaultRetries : Number(h("upstash-retries"));
      if (!Number.isInteger(retries) || retries < 0 || retries > maxRetries)
        throw new Error(`invalid Upstash-Retries (0..${maxRetries})`);
      const retryDelay = h("upstash-retry-delay");
      if (retryDelay !== undefined) compileRetryDelay(retryDelay)(0);
      const now = Date.now();
      let notBefore = now;
      if (h("upstash-not-before") !== undefined) {
        const s = Number(h("upstash-not-before"));
        if (!Number.isInteger(s)) throw new Error("invalid Upstash-Not-Before");
        notBefore = s * 1000;
      }
      if (h("upstash-delay") !== undefined) notBefore = now + parseDelay(h("upstash-delay")!);
      const failureCallback = h("upstash-failure-callback");
      if (failureCallback !== undefined) httpUrl(failureCallback);
      const headers: Record<string, string> = {};
      const failureCallbackHeaders: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) {
        const v = Array.isArray(value) ? value.join(", ") : (value ?? "");
        if (name.startsWith("upstash-forward-")) headers[name.slice("upstash-forward-".length)] = v;
        if (name.startsWith("upstash-failure-callback-forward-"))
          failureCallbackHeaders[name.slice("upstash-failure-callback-forward-".length)] = v;
      }
      if (req.headers["content-type"]) headers["content-type"] = req.headers["content-type"];
      msg = {
        messageId: newId("msg"),
        url,
        method: (h("upstash-method") ?? "POST").toUpperCase(),
        body,
        headers,
        retries,
        retryDelay,
        notBefore,
        createdAt: now,
        failureCallback,
        failureCallbackHeaders,
        deduplicationId: h("upstash-deduplication-id"),
        timeoutMs: h("upstash-timeout") ? parseDuration(h("upstash-timeout")!) : deliveryTimeoutMs,
        state: "CREATED",
        retried: 0,
        publishHeaders: Object.fromEntries(
          Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(", ") : (v ?? "")]),
        ),
      };
    } catch (err) {
      return answer(res, 400, { error: (err as Error).message });
    }
    const dedupKey =
      msg.deduplicationId ??
      (h("upstash-content-based-deduplication") === "true"
        ? createHash("sha256")
            .update(JSON.stringify([msg.url, msg.headers]))
            .update(body)
            .digest("hex")
        : undefined);
    if (dedupKey !== undefined) {
      const seen = dedup.get(dedupKey);
      if (seen && Date.now() - seen.at < dedupWindowMs)
        return answer(res, 202, { messageId: seen.messageId, url: msg.url, deduplicated: true });
      dedup.set(dedupKey, { messageId: msg.messageId, at: Date.now() });
    }
    messages.set(msg.messageId, msg);
    busy++;
    later(msg.notBefore - Date.now(), () => attempt(msg));
    answer(res, 201, { messageId: msg.messageId, url: msg.url });
  }

  const server = createServer((req, res) => {
    if (req.method === "POST" && req.url?.startsWith("/v2/publish/")) {
      publish(req, res).catch((err) => answer(res, 500, { error: String(err) }));
      return;
    }
    answer(res, 404, { error: `the stand-in does not serve ${req.method} ${req.url}` });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    token,
    currentSigningKey,
    nextSigningKey,
    messages,
    attempts,
    dlq,
    signWith(which) {
      signingKey = which === "current" ? currentSigningKey : nextSigningKey;
    },
    sign: (input) => signQStashJwt({ ...input, key: input.key ?? signingKey }),
    idle(timeoutMs = 30_000) {
      if (busy === 0) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const t = setTimeout(
          () => reject(new Error(`stand-in not idle after ${timeoutMs} ms (${busy} busy)`)),
          timeoutMs,
        );
        idleWaiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    },
    async close() {
      closed = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
