/**
 * The room core: one instance per building, independent of the transport. PartyKit
 * (party/building.ts) and the standalone host (hub.ts) wrap their sockets as RoomConnection and
 * forward connect / message / close; the core owns the protocol, the per-user connection cap,
 * heartbeats and presence. Connection state lives on the connection (PartyKit keeps it across
 * hibernation), so the core holds nothing that a hibernated room would lose except `gone`;
 * revocations live in a store the host provides (Durable Object storage on PartyKit).
 */

import {
  CloseCodes,
  type EventKind,
  type MemberMessage,
  type PresenceMember,
  parseClientFrame,
  type RevokeMessage,
  type RoomMessage,
  type ServerFrame,
} from "../../protocol/realtime";
import type { PresenceService } from "./presence";
import type { RoomClaims } from "./token";

export interface ConnectionState {
  userId: string;
  role: "manager" | "resident";
  deviceId: string;
  since: string;
  /** Epoch ms of the last frame received (any frame counts as a heartbeat). */
  lastSeen: number;
  /** Subscribed domain event kinds; null = all. */
  events: EventKind[] | null;
  /** The building version the connection's token was minted at (see RevocationStore). */
  tokenVersion: number;
}

/**
 * Per-user revocations of one room: tokens minted before `version` no longer admit. Entries only
 * matter while a token minted before them can still be valid, so a store may forget entries
 * older than the longest token lifetime.
 */
export interface RevocationStore {
  get(userId: string): Promise<number | undefined>;
  put(userId: string, version: number): Promise<void>;
}

/** Revocations in memory, forgotten after `ttlMs` (the room token lifetime). */
export function memoryRevocations(ttlMs: number, now: () => number): RevocationStore {
  const entries = new Map<string, { version: number; at: number }>();
  return {
    async get(userId) {
      const e = entries.get(userId);
      if (e && e.at + ttlMs < now()) entries.delete(userId);
      else return e?.version;
    },
    async put(userId, version) {
      const seen = entries.get(userId);
      entries.set(userId, { version: Math.max(version, seen?.version ?? 0), at: now() });
      if (entries.size > 10_000) {
        for (const [id, e] of entries) if (e.at + ttlMs < now()) entries.delete(id);
      }
    },
  };
}

export interface RoomConnection {
  readonly id: string;
  readonly state: ConnectionState | null;
  setState(state: ConnectionState): void;
  send(data: string): void;
  close(code: number, reason: string): void;
}

export interface RoomHost {
  readonly buildingId: string;
  connections(): Iterable<RoomConnection>;
  /**
   * Sends a presence change to the members. PartyKit: straight to `deliver`. Standalone: through
   * the in-process bus, so SSE subscribers get it from the same log and ids.
   */
  announce(message: MemberMessage): void | Promise<void>;
}

export interface RoomSettings {
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
  maxConnectionsPerUser: number;
  maxFrameBytes: number;
}

export interface RoomOptions extends RoomSettings {
  /** Shared presence (kv); null = this room's own connections only (PartyKit without kv). */
  presence: PresenceService | null;
  /** Default: in memory for an hour (the longest room token lifetime). */
  revocations?: RevocationStore;
  now: () => number;
  onError?: (err: unknown, where: string) => void;
}

const encoder = new TextEncoder();

/** Whether a frame is over `max` bytes, encoding only when the length alone cannot tell. */
function exceeds(data: string | ArrayBuffer | ArrayBufferView, max: number): boolean {
  if (typeof data !== "string") return data.byteLength > max;
  if (data.length > max) return true; // UTF-8 needs at least one byte per UTF-16 unit
  if (data.length * 3 <= max) return false; // ...and at most three
  return encoder.encode(data).byteLength > max;
}

export class RoomCore {
  /** Connections the core already closed (timeout, cap): their late close events are ignored. */
  private readonly gone = new Set<string>();
  private readonly revocations: RevocationStore;

  constructor(
    readonly host: RoomHost,
    readonly options: RoomOptions,
  ) {
    this.revocations = options.revocations ?? memoryRevocations(3600_000, options.now);
  }

  get buildingId(): string {
    return this.host.buildingId;
  }

  /** Accepted, live connections. */
  *live(): Iterable<RoomConnection & { state: ConnectionState }> {
    for (const c of this.host.connections()) {
      if (c.state && !this.gone.has(c.id)) yield c as RoomConnection & { state: ConnectionState };
    }
  }

  /** Presence from this room's connections alone. */
  localMembers(): PresenceMember[] {
    const byDevice = new Map<string, PresenceMember>();
    for (const { state: s } of this.live()) {
      const key = `${s.userId}\u0000${s.deviceId}`;
      const seen = byDevice.get(key);
      if (!seen || s.since < seen.since) {
        byDevice.set(key, { userId: s.userId, role: s.role, deviceId: s.deviceId, since: s.since });
      }
    }
    return [...byDevice.values()].sort((a, b) => a.since.localeCompare(b.since));
  }

  async members(): Promise<PresenceMember[]> {
    if (!this.options.presence) return this.localMembers();
    try {
      return await this.options.presence.getOnlineUsers(this.buildingId);
    } catch (err) {
      this.options.onError?.(err, "presence.getOnlineUsers");
      return this.localMembers();
    }
  }

  /**
   * Admits a connection whose token was verified; answers false when the token was revoked (close
   * 4403) or the user is over the cap (close 4429).
   */
  async connect(conn: RoomConnection, claims: RoomClaims): Promise<boolean> {
    const revokedAt = await this.revocations.get(claims.userId);
    if (revokedAt !== undefined && claims.version < revokedAt) {
      this.gone.add(conn.id);
      send(conn, { type: "error", code: "ACCESS_REVOKED", message: REVOKED_MESSAGE });
      conn.close(CloseCodes.REVOKED, "access revoked");
      return false;
    }
    let mine = 0;
    for (const c of this.live()) if (c.id !== conn.id && c.state.userId === claims.userId) mine++;
    if (mine >= this.options.maxConnectionsPerUser) {
      this.gone.add(conn.id);
      send(conn, {
        type: "error",
        code: "TOO_MANY_CONNECTIONS",
        message: `at most ${this.options.maxConnectionsPerUser} connections per user to one building`,
      });
      conn.close(CloseCodes.TOO_MANY_CONNECTIONS, "too many connections");
      return false;
    }
    const now = this.options.now();
    const firstForDevice = !this.hasDevice(claims.userId, claims.deviceId, conn.id);
    const state: ConnectionState = {
      userId: claims.userId,
      role: claims.role,
      deviceId: claims.deviceId,
      since: new Date(now).toISOString(),
      lastSeen: now,
      events: null,
      tokenVersion: claims.version,
    };
    conn.setState(state);
    await this.refreshPresence(conn.id, state);
    send(conn, {
      type: "welcome",
      buildingId: this.buildingId,
      userId: state.userId,
      deviceId: state.deviceId,
      connectionId: conn.id,
      heartbeatIntervalMs: this.options.heartbeatIntervalMs,
      heartbeatTimeoutMs: this.options.heartbeatTimeoutMs,
    });
    send(conn, { type: "presence.list", buildingId: this.buildingId, members: await this.members() });
    if (firstForDevice) {
      await this.host.announce({
        type: "presence.join",
        buildingId: this.buildingId,
        member: { userId: state.userId, role: state.role, deviceId: state.deviceId, since: state.since },
      });
    }
    return true;
  }

  /** Handles one inbound frame. Never throws: every bad frame is answered with an error frame. */
  async message(conn: RoomConnection, data: string | ArrayBuffer | ArrayBufferView): Promise<void> {
    const state = conn.state;
    if (!state || this.gone.has(conn.id)) return;
    if (exceeds(data, this.options.maxFrameBytes)) {
      send(conn, {
        type: "error",
        code: "FRAME_TOO_LARGE",
        message: `frames are limited to ${this.options.maxFrameBytes} bytes`,
      });
      await this.drop(conn, CloseCodes.FRAME_TOO_LARGE, "frame too large", "closed");
      return;
    }
    const touched = { ...state, lastSeen: this.options.now() };
    conn.setState(touched);
    const parsed = parseClientFrame(data);
    if (!parsed.ok) {
      send(conn, parsed.error);
      return;
    }
    const frame = parsed.frame;
    switch (frame.type) {
      case "ping":
        send(conn, {
          type: "pong",
          ...(frame.t !== undefined ? { t: frame.t } : {}),
          serverTime: this.options.now(),
        });
        await this.refreshPresence(conn.id, touched);
        return;
      case "subscribe":
        conn.setState({ ...touched, events: frame.events.length ? [...new Set(frame.events)] : null });
        return;
      case "announce":
        await this.refreshPresence(conn.id, touched);
        send(conn, { type: "presence.list", buildingId: this.buildingId, members: await this.members() });
        return;
    }
  }

  /** The transport reports the socket closed (cleanly or not). */
  async close(conn: RoomConnection): Promise<void> {
    if (this.gone.delete(conn.id)) return;
    if (!conn.state) return;
    await this.leave(conn, conn.state, "closed");
  }

  /** Closes connections whose last frame is older than the heartbeat timeout. Answers how many. */
  async sweep(): Promise<number> {
    const deadline = this.options.now() - this.options.heartbeatTimeoutMs;
    const dead = [...this.live()].filter((c) => c.state.lastSeen <= deadline);
    for (const c of dead) await this.drop(c, CloseCodes.HEARTBEAT_TIMEOUT, "heartbeat timeout", "timeout");
    return dead.length;
  }

  /**
   * Records a revocation and closes the user's connections whose token predates it (error frame
   * ACCESS_REVOKED, close 4403; presence announces them gone). Answers how many were closed.
   */
  async revoke(message: RevokeMessage): Promise<number> {
    const doomed = [...this.live()].filter(
      (c) => c.state.userId === message.userId && (c.state.tokenVersion ?? 0) < message.version,
    );
    // All closed before the first await: the poke of the same commit, published right after
    // this message, must not reach them.
    for (const c of doomed) {
      send(c, { type: "error", code: "ACCESS_REVOKED", message: REVOKED_MESSAGE });
      this.gone.add(c.id);
      try {
        c.close(CloseCodes.REVOKED, "access revoked");
      } catch (err) {
        this.options.onError?.(err, "close");
      }
    }
    await this.revocations.put(message.userId, message.version);
    for (const c of doomed) await this.leave(c, c.state, "closed");
    return doomed.length;
  }

  /** Sends a published message (poke, domain event, presence change) to the members it concerns. */
  deliver(message: MemberMessage, seq?: number): number {
    const frame = toFrame(message, seq);
    const data = JSON.stringify(frame);
    const kind = message.type === "event" ? message.event.kind : null;
    let n = 0;
    for (const c of this.live()) {
      if (kind && c.state.events && !c.state.events.includes(kind)) continue;
      try {
        c.send(data);
        n++;
      } catch (err) {
        this.options.onError?.(err, "deliver");
      }
    }
    return n;
  }

  private hasDevice(userId: string, deviceId: string, except: string): boolean {
    for (const c of this.live()) {
      if (c.id !== except && c.state.userId === userId && c.state.deviceId === deviceId) return true;
    }
    return false;
  }

  private async drop(conn: RoomConnection, code: number, reason: string, why: "closed" | "timeout") {
    const state = conn.state;
    this.gone.add(conn.id);
    try {
      conn.close(code, reason);
    } catch (err) {
      this.options.onError?.(err, "close");
    }
    if (state) await this.leave(conn, state, why);
  }

  private async leave(conn: RoomConnection, state: ConnectionState, why: "closed" | "timeout") {
    if (this.options.presence) {
      try {
        await this.options.presence.setOffline({
          buildingId: this.buildingId,
          userId: state.userId,
          deviceId: state.deviceId,
          connectionId: conn.id,
        });
      } catch (err) {
        this.options.onError?.(err, "presence.setOffline");
      }
    }
    if (!this.hasDevice(state.userId, state.deviceId, conn.id)) {
      await this.host.announce({
        type: "presence.leave",
        buildingId: this.buildingId,
        userId: state.userId,
        deviceId: state.deviceId,
        reason: why,
      });
    }
  }

  private async refreshPresence(connectionId: string, s: ConnectionState) {
    if (!this.options.presence) return;
    try {
      await this.options.presence.setOnline({
        buildingId: this.buildingId,
        userId: s.userId,
        role: s.role,
        deviceId: s.deviceId,
        connectionId,
        since: s.since,
      });
    } catch (err) {
      this.options.onError?.(err, "presence.setOnline");
    }
  }
}

const REVOKED_MESSAGE =
  "your access to this building changed (removed, new role or account restricted); request a new room token";

/** Routes a bus message: revocations to `revoke`, everything else to the members. */
export async function dispatch(core: RoomCore, message: RoomMessage, seq?: number): Promise<number> {
  return message.type === "revoke" ? core.revoke(message) : core.deliver(message, seq);
}

export function send(conn: RoomConnection, frame: ServerFrame): void {
  try {
    conn.send(JSON.stringify(frame));
  } catch {
    // The socket is already closing; its close event does the bookkeeping.
  }
}

/** The server frame for a published message; `seq` is the log position where the host has one. */
export function toFrame(message: MemberMessage, seq?: number): ServerFrame {
  const withSeq = seq === undefined ? {} : { seq };
  switch (message.type) {
    case "poke":
      return { type: "poke", buildingId: message.buildingId, version: message.version, ...withSeq };
    case "event":
      return {
        type: "event",
        buildingId: message.buildingId,
        event: message.event,
        at: message.at,
        ...withSeq,
      };
    case "presence.join":
      return { type: "presence.join", buildingId: message.buildingId, member: message.member };
    case "presence.leave":
      return {
        type: "presence.leave",
        buildingId: message.buildingId,
        userId: message.userId,
        deviceId: message.deviceId,
        reason: message.reason,
      };
  }
}
