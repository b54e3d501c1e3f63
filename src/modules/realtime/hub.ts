/**
 * In-process rooms for the standalone host: one RoomCore per building with live sockets, fed by
 * the in-process bus (pokes, domain events and presence changes all arrive through it, so the
 * WebSocket members and the SSE streams share one ordered log). Implements the RoomGateway the
 * Bun and Node WebSocket transports call, including auth before accept.
 */

import { hostProblem } from "../../http/host-errors";
import type { Subscription } from "../../platform/realtime";
import type { GatewaySocket, RoomGateway } from "../../platform/realtime/gateway";
import { RoomMessageSchema } from "../../protocol/realtime";
import type { Services } from "../../services";
import { presenceOf } from "./presence";
import {
  type ConnectionState,
  dispatch,
  memoryRevocations,
  type RevocationStore,
  type RoomConnection,
  RoomCore,
  type RoomSettings,
} from "./room";
import { type RoomClaims, RoomTokenError, roomTokenFromUrl, verifyRoomToken } from "./token";
import { currentStanding } from "./verbs";

const ROOM_PATH = /^\/parties\/building\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\/?$/i;

class LocalConnection implements RoomConnection {
  state: ConnectionState | null = null;
  constructor(private readonly socket: GatewaySocket) {}
  get id() {
    return this.socket.id;
  }
  setState(state: ConnectionState) {
    this.state = state;
  }
  send(data: string) {
    this.socket.send(data);
  }
  close(code: number, reason: string) {
    this.socket.close(code, reason);
  }
}

interface LocalRoom {
  core: RoomCore;
  connections: Map<string, LocalConnection>;
  subscription: Subscription;
}

export interface HubHandle {
  buildingId: string;
  connection: LocalConnection;
}

export function roomSettings(config: Services["config"]): RoomSettings {
  return {
    heartbeatIntervalMs: config.REALTIME_HEARTBEAT_INTERVAL_MS,
    heartbeatTimeoutMs: config.REALTIME_HEARTBEAT_TIMEOUT_MS,
    maxConnectionsPerUser: config.REALTIME_MAX_CONNECTIONS_PER_USER,
    maxFrameBytes: config.REALTIME_MAX_FRAME_BYTES,
  };
}

export class RoomHub implements RoomGateway<RoomClaims, HubHandle> {
  private readonly rooms = new Map<string, LocalRoom>();
  private readonly timer: ReturnType<typeof setInterval>;
  /** Revocations of every building, kept across a room's teardown when its last socket leaves. */
  private readonly revoked: RevocationStore;
  readonly maxFrameBytes: number;

  constructor(private readonly services: Services) {
    if (!services.realtime.subscribe) {
      throw new Error(
        "in-process rooms need the in-process realtime bus (PARTYKIT_HOST is set: rooms run on PartyKit)",
      );
    }
    this.maxFrameBytes = services.config.REALTIME_MAX_FRAME_BYTES;
    this.revoked = memoryRevocations(services.config.REALTIME_TOKEN_TTL_SECONDS * 1000, () =>
      services.clock.now().getTime(),
    );
    const { REALTIME_HEARTBEAT_TIMEOUT_MS: timeout } = services.config;
    // Sweep often enough that a dead connection leaves within ~1.25 × the timeout.
    this.timer = setInterval(() => void this.sweep(), Math.max(20, Math.floor(timeout / 4)));
    (this.timer as { unref?: () => void }).unref?.();
  }

  match(pathname: string): string | null {
    return ROOM_PATH.exec(pathname)?.[1]?.toLowerCase() ?? null;
  }

  /**
   * Verifies the token, then the user's standing in the database: the token's role must still be
   * theirs and the token must not predate the membership's last change (ADR 0003), so a token
   * minted before a removal or role change cannot open a socket, even after a restart.
   */
  async authorize(url: string, buildingId: string, correlationId: string) {
    try {
      const claims = await verifyRoomToken(
        roomTokenFromUrl(url),
        this.services.config.JWT_SECRET!,
        buildingId,
        this.services.clock.now(),
      );
      const standing = await currentStanding(this.services.database.db, buildingId, claims.userId);
      if (standing.role !== claims.role || claims.version < standing.membershipVersion) {
        throw new RoomTokenError("revoked");
      }
      return { ok: true as const, claims };
    } catch (err) {
      if (!(err instanceof RoomTokenError)) throw err;
      return { ok: false as const, response: refusal(err, correlationId) };
    }
  }

  async open(buildingId: string, socket: GatewaySocket, claims: RoomClaims): Promise<HubHandle> {
    const room = this.room(buildingId);
    const connection = new LocalConnection(socket);
    room.connections.set(connection.id, connection);
    const accepted = await room.core.connect(connection, claims);
    if (!accepted) room.connections.delete(connection.id);
    return { buildingId, connection };
  }

  async message(handle: HubHandle, data: string | ArrayBuffer | ArrayBufferView) {
    await this.rooms.get(handle.buildingId)?.core.message(handle.connection, data);
  }

  async close(handle: HubHandle) {
    const room = this.rooms.get(handle.buildingId);
    if (!room) return;
    room.connections.delete(handle.connection.id);
    await room.core.close(handle.connection);
    if (room.connections.size === 0) {
      room.subscription.unsubscribe();
      this.rooms.delete(handle.buildingId);
    }
  }

  /** Drops connections past the heartbeat timeout in every room. */
  async sweep(): Promise<number> {
    let n = 0;
    for (const room of this.rooms.values()) n += await room.core.sweep();
    return n;
  }

  /** Live connections of a building (tests, metrics). */
  connectionCount(buildingId: string): number {
    return this.rooms.get(buildingId)?.connections.size ?? 0;
  }

  stop() {
    clearInterval(this.timer);
    for (const room of this.rooms.values()) {
      room.subscription.unsubscribe();
      for (const c of room.connections.values()) c.close(1001, "server shutting down");
    }
    this.rooms.clear();
  }

  private room(buildingId: string): LocalRoom {
    let room = this.rooms.get(buildingId);
    if (room) return room;
    const { services } = this;
    const connections = new Map<string, LocalConnection>();
    const core = new RoomCore(
      {
        buildingId,
        connections: () => connections.values(),
        announce: (message) => services.realtime.publish(message),
      },
      {
        ...roomSettings(services.config),
        presence: presenceOf(services),
        revocations: {
          get: (userId) => this.revoked.get(`${buildingId}:${userId}`),
          put: (userId, version) => this.revoked.put(`${buildingId}:${userId}`, version),
        },
        now: () => services.clock.now().getTime(),
        onError: (err, where) =>
          services.logger.warn({ event: "room_error", buildingId, where, err: String(err) }, "room error"),
      },
    );
    const subscription = services.realtime.subscribe!(buildingId, (envelope) => {
      const parsed = RoomMessageSchema.safeParse(envelope.message);
      if (parsed.success) {
        void dispatch(core, parsed.data, envelope.seq).catch((err) =>
          services.logger.warn({ event: "room_error", buildingId, err: String(err) }, "room dispatch failed"),
        );
      } else services.logger.warn({ event: "room_bad_message", buildingId }, "invalid bus message dropped");
    });
    room = { core, connections, subscription };
    this.rooms.set(buildingId, room);
    return room;
  }
}

function refusal(err: RoomTokenError, correlationId: string): Response {
  const detail =
    err.reason === "missing"
      ? "a room token is required (POST /api/v1/realtime/token)"
      : err.reason === "expired"
        ? "the room token has expired; request a new one"
        : err.reason === "wrong_building"
          ? "the room token is for another building"
          : err.reason === "revoked"
            ? "the room token was revoked: your membership or role in this building changed since it was issued; request a new one"
            : "the room token is invalid";
  return hostProblem(err.reason === "expired" ? "TOKEN_EXPIRED" : "UNAUTHENTICATED", detail, correlationId, {
    "www-authenticate": 'Bearer realm="horizon-room"',
  });
}
