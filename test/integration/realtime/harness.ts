/**
 * Real sockets for realtime tests: a WebSocket client that records frames and waits for the
 * ones a test expects, plus the real standalone server (same listen code as `npm start`) on a
 * random port with a fresh in-memory database.
 */
import WebSocket from "ws";
import { readSse, type SseMessage } from "../../../src/client/realtime/sse";
import type { ServerFrame } from "../../../src/protocol/realtime";
import { serveStandalone } from "../../../workers/standalone";
import { createTestApp, type TestApp } from "../../support/app";
import type { DbKind } from "../../support/db";
import type { TestUser } from "../../support/fixtures";

export const FAST_HEARTBEAT = {
  REALTIME_HEARTBEAT_INTERVAL_MS: "100",
  REALTIME_HEARTBEAT_TIMEOUT_MS: "400",
  REALTIME_MAX_CONNECTIONS_PER_USER: "3",
  REALTIME_MAX_FRAME_BYTES: "65536",
};

export interface RealtimeServer {
  t: TestApp;
  base: string;
  wsBase: string;
  server: Awaited<ReturnType<typeof serveStandalone>>;
  close(): Promise<void>;
}

export async function startRealtimeServer(
  db: DbKind = "pglite",
  env: Record<string, string> = {},
): Promise<RealtimeServer> {
  const t = await createTestApp({ db, env: { ...FAST_HEARTBEAT, ...env } });
  const server = await serveStandalone(t.services, 0);
  return {
    t,
    server,
    base: `http://127.0.0.1:${server.port}`,
    wsBase: `ws://127.0.0.1:${server.port}`,
    async close() {
      await server.close();
      await t.close();
    },
  };
}

export async function roomToken(
  base: string,
  user: TestUser,
  buildingId: string,
  deviceId = "phone",
): Promise<string> {
  const res = await fetch(`${base}/api/v1/realtime/token`, {
    method: "POST",
    headers: { ...user.auth, "content-type": "application/json" },
    body: JSON.stringify({ buildingId, deviceId }),
  });
  if (res.status !== 200) throw new Error(`token: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { token: string }).token;
}

export interface RoomClient {
  ws: WebSocket;
  frames: ServerFrame[];
  closed: Promise<{ code: number; reason: string }>;
  next<T extends ServerFrame["type"]>(
    type: T,
    where?: (f: Extract<ServerFrame, { type: T }>) => boolean,
    timeoutMs?: number,
  ): Promise<Extract<ServerFrame, { type: T }>>;
  send(data: unknown): void;
  /** Stops the automatic heartbeat (a client that went silent). */
  stopPing(): void;
  close(): void;
}

/**
 * Opens a socket; resolves once open (rejects with the HTTP status when refused). Pings every
 * `pingMs` like a real client would, so short test heartbeat timeouts do not drop it.
 */
export function openRoom(url: string, pingMs = 100): Promise<RoomClient> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { maxPayload: 64 * 1024 * 1024 });
    const frames: ServerFrame[] = [];
    const waiters = new Set<() => void>();
    let cursor = 0;
    ws.on("message", (data) => {
      frames.push(JSON.parse(String(data)) as ServerFrame);
      for (const w of waiters) w();
    });
    const pinger = setInterval(() => {
      if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "ping" }));
    }, pingMs);
    const closed = new Promise<{ code: number; reason: string }>((r) =>
      ws.on("close", (code, reason) => {
        clearInterval(pinger);
        r({ code, reason: String(reason) });
      }),
    );
    ws.on("unexpected-response", (_req, res) =>
      reject(Object.assign(new Error(`refused ${res.statusCode}`), { status: res.statusCode })),
    );
    ws.on("error", (err) => {
      clearInterval(pinger);
      reject(err);
    });
    ws.on("open", () =>
      resolve({
        ws,
        frames,
        closed,
        send: (data) =>
          ws.send(typeof data === "string" || Buffer.isBuffer(data) ? data : JSON.stringify(data)),
        stopPing: () => clearInterval(pinger),
        close: () => ws.close(),
        next(type, where, timeoutMs = 5000) {
          return new Promise((res, rej) => {
            const check = () => {
              for (let i = cursor; i < frames.length; i++) {
                const f = frames[i]!;
                if (f.type === type && (!where || where(f as never))) {
                  cursor = i + 1;
                  waiters.delete(check);
                  clearTimeout(timer);
                  res(f as never);
                  return;
                }
              }
            };
            const timer = setTimeout(() => {
              waiters.delete(check);
              rej(
                new Error(
                  `no ${type} frame within ${timeoutMs} ms; got ${JSON.stringify(frames.map((f) => f.type))}`,
                ),
              );
            }, timeoutMs);
            waiters.add(check);
            check();
          });
        },
      }),
    );
  });
}

/** Polls `cond` until it holds; throws naming `what` once `timeoutMs` has passed. */
export async function waitUntil(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export interface EventStream {
  status: number;
  messages: SseMessage[];
  /** Set once the server ended the stream (or it failed). */
  ended: boolean;
  close(): void;
}

/** A real SSE request (fetch + the SDK's reader) on a building's event stream. */
export async function openStream(
  base: string,
  buildingId: string,
  auth: Record<string, string>,
  deviceId = "web",
): Promise<EventStream> {
  const abort = new AbortController();
  const res = await fetch(`${base}/api/v1/buildings/${buildingId}/events?deviceId=${deviceId}`, {
    headers: auth,
    signal: abort.signal,
  });
  const s: EventStream = { status: res.status, messages: [], ended: false, close: () => abort.abort() };
  if (res.status !== 200) {
    s.ended = true;
    await res.body?.cancel();
    return s;
  }
  void readSse(res.body!, (m) => s.messages.push(m))
    .catch(() => {})
    .finally(() => {
      s.ended = true;
    });
  return s;
}

/**
 * The close code a socket received, as soon as the close frame arrived: miniflare keeps TCP open
 * after the close handshake, so `ws` would only report "close" after its 30 s close timeout.
 */
export function closeCodeOf(ws: WebSocket): number | null {
  return ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING
    ? null
    : (ws as unknown as { _closeCode: number })._closeCode;
}
