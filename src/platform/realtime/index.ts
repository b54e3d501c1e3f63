/**
 * The realtime bus port: publishes a message into one building's room. Adapters: in-process
 * (standalone; rooms and SSE streams in the same process subscribe to it, with a bounded log per
 * building for resumable SSE), Redis pub/sub (several standalone replicas, redis.ts) and PartyKit
 * (HTTP POST to the room with a shared secret).
 * Messages are plain JSON with a `type` and a `buildingId`; the room validates them (zod) before
 * anything reaches a socket.
 */
import type { PresenceMember } from "../../protocol/realtime";

export interface BusMessage {
  type: string;
  buildingId: string;
  [key: string]: unknown;
}

export interface BusEnvelope {
  /** Monotonically increasing id (across buildings and, by construction, across restarts). */
  seq: number;
  message: BusMessage;
}

export type BusListener = (envelope: BusEnvelope) => void;

export interface Subscription {
  /** Logged messages after `afterSeq`, or "gap" when some were already dropped from the log. */
  replay: BusEnvelope[] | "gap";
  unsubscribe(): void;
}

export interface RealtimeBus {
  readonly kind: "memory" | "partykit" | "redis";
  publish(message: BusMessage): Promise<void>;
  /**
   * Live messages of one building (in-process bus only: on PartyKit the room itself holds the
   * sockets). `afterSeq` replays from the log first, for SSE Last-Event-ID.
   */
  subscribe?(buildingId: string, listener: BusListener, options?: { afterSeq?: number }): Subscription;
  close?(): Promise<void>;
}

/** Who is online in a building (kv sets with TTL refreshed by room heartbeats; modules/realtime/presence.ts). */
export interface PresenceConnection {
  buildingId: string;
  userId: string;
  role: "manager" | "resident";
  deviceId: string;
  connectionId: string;
  since: string;
}

export interface PresenceService {
  /** Marks a connection online, or refreshes its TTL (heartbeat). `firstForDevice`: the device just came online. */
  setOnline(conn: PresenceConnection): Promise<{ firstForDevice: boolean }>;
  /** Removes a connection. `lastForDevice` / `lastForUser`: nothing else keeps that device / user online. */
  setOffline(conn: Pick<PresenceConnection, "buildingId" | "userId" | "deviceId" | "connectionId">): Promise<{
    lastForDevice: boolean;
    lastForUser: boolean;
  }>;
  /** Online devices of a building, one entry per (user, device), `since` = its earliest live connection. */
  getOnlineUsers(buildingId: string): Promise<PresenceMember[]>;
  readonly ttlMs: number;
}
