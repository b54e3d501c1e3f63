/**
 * The realtime client SDK: joins a building's room over WebSocket (partysocket) and falls back to
 * Server-Sent Events when WebSockets keep failing. Reconnects with capped exponential backoff and
 * full jitter, asking for a fresh room token each time; after a reconnect it resubscribes and
 * re-announces presence. A poke makes the sync client pull (`syncNow`), coalesced. When the
 * server revokes access (the member was removed, their role changed or their account restricted:
 * an ACCESS_REVOKED frame, close code 4403, or a token/stream refused with 403/404) the client
 * stops for good and calls `onRevoked`: reconnecting would only be refused again.
 */
import PartySocket from "partysocket";
import type { EventKind, PresenceMember, ServerFrame } from "../../protocol/realtime-frames";
import { type BackoffOptions, backoffDelay, DEFAULT_BACKOFF, sleep } from "./backoff";
import { readSse } from "./sse";

export { backoffDelay, DEFAULT_BACKOFF } from "./backoff";
export type { EventKind, PresenceMember, ServerFrame };

/**
 * `CloseCodes.REVOKED` of the room protocol, repeated here so the SDK imports only types from the
 * server's protocol module (a value import would pull zod into every app bundle).
 */
const CLOSE_REVOKED = 4403;

export type Transport = "connecting" | "websocket" | "sse" | "closed";

export interface RealtimeClientOptions {
  /** The API origin, e.g. `https://api.horizon.example` or `http://localhost:8787` (a trailing `/api/v1` is accepted too). */
  apiBaseUrl: string;
  buildingId: string;
  deviceId: string;
  getAccessToken: () => string | Promise<string>;
  /** Only these domain event kinds (default: all). Resent after every reconnect. */
  events?: EventKind[];
  /** The sync client (src/client/sync): pulled on every poke. */
  sync?: { syncNow(): unknown };
  onFrame?: (frame: ServerFrame) => void;
  onPoke?: (frame: Extract<ServerFrame, { type: "poke" }>) => void;
  onPresence?: (members: PresenceMember[]) => void;
  onTransport?: (transport: Transport) => void;
  /**
   * Access to the building was revoked; the client has closed itself. A role change also
   * revokes: connect a new client to join with the new role.
   */
  onRevoked?: (reason: string) => void;
  transport?: "auto" | "websocket" | "sse";
  /** WebSocket attempts in a row without an open before "auto" switches to SSE. */
  fallbackAfterFailures?: number;
  backoff?: Partial<BackoffOptions>;
  /** Node 20 has no global WebSocket: pass `ws`. */
  WebSocket?: unknown;
  fetch?: typeof fetch;
  random?: () => number;
}

export class RealtimeClient {
  transport: Transport = "connecting";
  private socket: PartySocket | null = null;
  private sseAbort: AbortController | null = null;
  private failures = 0;
  private attempt = 0;
  private closed = false;
  private lastEventId: string | null = null;
  private readonly members = new Map<string, PresenceMember>();
  private heartbeat: ReturnType<typeof setInterval> | null = null;
  private lastFrameAt = 0;
  private syncing: Promise<void> | null = null;
  private syncAgain = false;
  private readonly backoff: BackoffOptions;
  private readonly doFetch: typeof fetch;

  constructor(private readonly options: RealtimeClientOptions) {
    // One base URL form for the whole SDK: an origin, or an origin with the version prefix.
    this.options = {
      ...options,
      apiBaseUrl: options.apiBaseUrl.replace(/\/+$/, "").replace(/\/api\/v\d+$/, ""),
    };
    this.backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    this.doFetch = options.fetch ?? ((...args) => fetch(...args));
  }

  /** Online devices as this client last heard. */
  get presence(): PresenceMember[] {
    return [...this.members.values()];
  }

  connect(): this {
    if (this.options.transport === "sse") void this.runSse();
    else this.openSocket();
    return this;
  }

  close(): void {
    this.closed = true;
    this.stopHeartbeat();
    this.socket?.close(1000, "client closed");
    this.sseAbort?.abort();
    this.setTransport("closed");
  }

  /** Stops reconnecting: the server will refuse this user in this building from now on. */
  private revoked(reason: string) {
    if (this.closed) return;
    this.close();
    this.options.onRevoked?.(reason);
  }

  private setTransport(t: Transport) {
    if (this.transport === t) return;
    this.transport = t;
    this.options.onTransport?.(t);
  }

  private async roomToken(): Promise<{ token: string; host: string | null }> {
    const res = await this.doFetch(`${this.options.apiBaseUrl}/api/v1/realtime/token`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${await this.options.getAccessToken()}`,
        "content-type": "application/json",
      },
      body: JSON.stringify({ buildingId: this.options.buildingId, deviceId: this.options.deviceId }),
    });
    if (res.status === 403 || res.status === 404) this.revoked(`room token refused: HTTP ${res.status}`);
    if (!res.ok) throw new Error(`room token: HTTP ${res.status}`);
    const body = (await res.json()) as { token: string; room: { host: string | null } };
    return { token: body.token, host: body.room.host };
  }

  private openSocket() {
    const api = new URL(this.options.apiBaseUrl);
    this.socket = new PartySocket({
      host: api.host,
      protocol: api.protocol === "https:" ? "wss" : "ws",
      party: "building",
      room: this.options.buildingId,
      // partysocket's own delay is switched off: the query provider waits (jittered) and fetches a fresh token.
      minReconnectionDelay: 0,
      maxReconnectionDelay: 0,
      connectionTimeout: 5000,
      WebSocket: this.options.WebSocket as never,
      query: async () => {
        if (this.attempt > 0) this.failures++;
        if (
          this.options.transport !== "websocket" &&
          this.failures >= (this.options.fallbackAfterFailures ?? 3)
        ) {
          queueMicrotask(() => this.fallBackToSse());
          throw new Error("falling back to SSE");
        }
        await sleep(backoffDelay(this.attempt++, this.backoff, this.options.random));
        const { token, host } = await this.roomToken();
        if (host && this.socket && this.socket.host !== host) this.socket.updateProperties({ host });
        return { token };
      },
    });
    this.socket.addEventListener("open", () => {
      this.attempt = 0;
      this.failures = 0;
      this.lastFrameAt = Date.now();
      this.setTransport("websocket");
      // Resubscribe and re-announce presence: the room forgot this connection's choices.
      if (this.options.events?.length) this.send({ type: "subscribe", events: this.options.events });
      this.send({ type: "announce" });
    });
    this.socket.addEventListener("message", (e: MessageEvent) => {
      this.lastFrameAt = Date.now();
      this.handle(String(e.data));
    });
    this.socket.addEventListener("close", (e: CloseEvent) => {
      this.stopHeartbeat();
      if (e.code === CLOSE_REVOKED) return this.revoked("room closed the connection (4403)");
      if (!this.closed && this.transport === "websocket") this.setTransport("connecting");
    });
  }

  private send(frame: { type: string; [k: string]: unknown }) {
    this.socket?.send(JSON.stringify(frame));
  }

  private fallBackToSse() {
    if (this.closed || this.transport === "sse") return;
    this.socket?.close(1000, "falling back to SSE");
    this.socket = null;
    this.attempt = 0;
    void this.runSse();
  }

  private startHeartbeat(intervalMs: number, timeoutMs: number) {
    this.stopHeartbeat();
    this.heartbeat = setInterval(() => {
      if (Date.now() - this.lastFrameAt > timeoutMs) {
        // The room went silent: drop the socket and reconnect (with backoff).
        this.socket?.reconnect(4000, "heartbeat timeout");
        return;
      }
      this.send({ type: "ping", t: Date.now() });
    }, intervalMs);
  }

  private stopHeartbeat() {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
  }

  private async runSse() {
    this.sseAbort = new AbortController();
    const { signal } = this.sseAbort;
    while (!this.closed) {
      await sleep(backoffDelay(this.attempt, this.backoff, this.options.random));
      if (this.closed) return;
      try {
        const url = new URL(`${this.options.apiBaseUrl}/api/v1/buildings/${this.options.buildingId}/events`);
        url.searchParams.set("deviceId", this.options.deviceId);
        const res = await this.doFetch(url, {
          headers: {
            authorization: `Bearer ${await this.options.getAccessToken()}`,
            accept: "text/event-stream",
            ...(this.lastEventId ? { "last-event-id": this.lastEventId } : {}),
          },
          signal,
        });
        if (res.status === 403 || res.status === 404)
          return this.revoked(`event stream refused: HTTP ${res.status}`);
        if (!res.ok || !res.body) throw new Error(`events: HTTP ${res.status}`);
        this.attempt = 0;
        this.setTransport("sse");
        await readSse(res.body, (m) => {
          if (m.id) this.lastEventId = m.id;
          if (m.event !== "open") this.handle(m.data);
        });
      } catch {
        if (this.closed) return;
      }
      this.attempt++;
      if (!this.closed) this.setTransport("connecting");
    }
  }

  private handle(data: string) {
    let frame: ServerFrame;
    try {
      frame = JSON.parse(data) as ServerFrame;
    } catch {
      return;
    }
    const key = (m: { userId: string; deviceId: string }) => `${m.userId}\u0000${m.deviceId}`;
    switch (frame.type) {
      case "welcome":
        this.startHeartbeat(frame.heartbeatIntervalMs, frame.heartbeatTimeoutMs);
        break;
      case "presence.list":
        this.members.clear();
        for (const m of frame.members) this.members.set(key(m), m);
        this.options.onPresence?.(this.presence);
        break;
      case "presence.join":
        this.members.set(key(frame.member), frame.member);
        this.options.onPresence?.(this.presence);
        break;
      case "presence.leave":
        this.members.delete(key(frame));
        this.options.onPresence?.(this.presence);
        break;
      case "poke":
        this.options.onPoke?.(frame);
        this.pull();
        break;
      case "resync":
        this.pull();
        break;
    }
    this.options.onFrame?.(frame);
    if (frame.type === "error" && frame.code === "ACCESS_REVOKED")
      this.revoked(frame.message ?? "ACCESS_REVOKED");
  }

  /** Runs syncNow, never two at once; pokes arriving meanwhile cause exactly one more pull. */
  private pull() {
    const sync = this.options.sync;
    if (!sync) return;
    if (this.syncing) {
      this.syncAgain = true;
      return;
    }
    this.syncing = (async () => {
      do {
        this.syncAgain = false;
        try {
          await sync.syncNow();
        } catch {
          // The sync client reports its own failures; the next poke tries again.
        }
      } while (this.syncAgain && !this.closed);
      this.syncing = null;
    })();
  }
}

export function connectRealtime(options: RealtimeClientOptions): RealtimeClient {
  return new RealtimeClient(options).connect();
}
