/**
 * The building room on PartyKit (one Durable Object per building, hibernation on). Thin over
 * src/modules/realtime: the worker verifies the room token before the socket is accepted
 * (onBeforeConnect → 401), the room core does the rest. Publishers POST messages with the
 * shared secret (PARTYKIT_SECRET); an alarm sweeps connections past the heartbeat timeout.
 * A published `revoke` closes that user's sockets and is kept in the room's storage, so tokens
 * minted before it are refused on connect even after the room hibernated (ADR 0003).
 */
import type * as Party from "partykit/server";
import { parseConfig } from "../src/config";
import { correlationIdOf } from "../src/http/host-errors";
import { problemBody } from "../src/modules/realtime/http";
import { createPresenceService } from "../src/modules/realtime/presence";
import {
  type ConnectionState,
  dispatch,
  type RevocationStore,
  type RoomConnection,
  RoomCore,
} from "../src/modules/realtime/room";
import { RoomTokenError, roomTokenFromUrl, verifyRoomToken } from "../src/modules/realtime/token";
import { createUpstashKv } from "../src/platform/kv/upstash";
import { PARTY_SECRET_HEADER } from "../src/platform/realtime/partykit";
import { CloseCodes, RoomMessageSchema } from "../src/protocol/realtime";

const BUILDING_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function refuse(err: unknown, correlationId: string): Response {
  const reason = err instanceof RoomTokenError ? err.reason : "invalid";
  return new Response(
    JSON.stringify(
      problemBody(
        reason === "expired" ? "TOKEN_EXPIRED" : "UNAUTHENTICATED",
        `room token refused: ${reason}`,
        correlationId,
      ),
    ),
    {
      status: 401,
      headers: { "content-type": "application/problem+json", "x-correlation-id": correlationId },
    },
  );
}

/**
 * Revocations in the Durable Object's storage (`revoked:{userId}` → version and time), forgotten
 * once no token minted before them can still be valid.
 */
function storageRevocations(room: Party.Room, tokenTtlMs: number): RevocationStore {
  const key = (userId: string) => `revoked:${userId}`;
  type Entry = { version: number; at: number };
  return {
    async get(userId) {
      const e = await room.storage.get<Entry>(key(userId));
      if (!e) return undefined;
      if (e.at + tokenTtlMs < Date.now()) {
        await room.storage.delete(key(userId));
        return undefined;
      }
      return e.version;
    },
    async put(userId, version) {
      const seen = await room.storage.get<Entry>(key(userId));
      await room.storage.put(key(userId), { version: Math.max(version, seen?.version ?? 0), at: Date.now() });
    },
  };
}

/** Constant-time comparison, so the secret cannot be guessed byte by byte from timings. */
function sameSecret(a: string | null, b: string | undefined): boolean {
  if (!a || !b) return false;
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

function secretOf(env: Record<string, unknown>): string {
  const s = env.JWT_SECRET;
  if (typeof s !== "string" || s.length < 32)
    throw new Error("JWT_SECRET (≥ 32 characters) is required in the room's env");
  return s;
}

export default class BuildingParty implements Party.Server {
  readonly options: Party.ServerOptions = { hibernate: true };
  private readonly core: RoomCore;
  private readonly wrappers = new WeakMap<Party.Connection, RoomConnection>();
  private buildingId: string | undefined;

  constructor(readonly room: Party.Room) {
    // The room holds the publish secret but is no publisher: drop it before the API config checks.
    const config = parseConfig({ ...room.env, PARTYKIT_SECRET: undefined });
    try {
      this.buildingId = room.id;
    } catch {
      // Alarms run without the room id; it is read back from storage in onAlarm.
    }
    const kv =
      config.UPSTASH_REDIS_REST_URL && config.UPSTASH_REDIS_REST_TOKEN
        ? createUpstashKv({
            url: config.UPSTASH_REDIS_REST_URL,
            token: config.UPSTASH_REDIS_REST_TOKEN,
            prefix: "horizon:",
          })
        : null;
    const self = this;
    this.core = new RoomCore(
      {
        get buildingId() {
          return self.buildingId ?? "";
        },
        connections: () => [...room.getConnections<ConnectionState>()].map((c) => self.wrap(c)),
        announce: (message) => void self.core.deliver(message),
      },
      {
        heartbeatIntervalMs: config.REALTIME_HEARTBEAT_INTERVAL_MS,
        heartbeatTimeoutMs: config.REALTIME_HEARTBEAT_TIMEOUT_MS,
        maxConnectionsPerUser: config.REALTIME_MAX_CONNECTIONS_PER_USER,
        maxFrameBytes: config.REALTIME_MAX_FRAME_BYTES,
        presence: kv ? createPresenceService(kv, { ttlMs: config.REALTIME_HEARTBEAT_TIMEOUT_MS }) : null,
        revocations: storageRevocations(room, config.REALTIME_TOKEN_TTL_SECONDS * 1000),
        now: () => Date.now(),
        onError: (err, where) =>
          console.error(JSON.stringify({ level: "warn", event: "room_error", where, err: String(err) })),
      },
    );
  }

  /** Runs in the edge worker before the Durable Object sees the request: no valid token, no socket. */
  static async onBeforeConnect(req: Party.Request, lobby: Party.Lobby) {
    try {
      if (!BUILDING_ID.test(lobby.id)) throw new RoomTokenError("wrong_building");
      await verifyRoomToken(roomTokenFromUrl(req.url), secretOf(lobby.env), lobby.id, new Date());
      return req;
    } catch (err) {
      return refuse(err, correlationIdOf(req.headers));
    }
  }

  async onConnect(conn: Party.Connection, ctx: Party.ConnectionContext) {
    // Verified again here (one HMAC): the room never trusts anything the worker did not re-check.
    let claims: Awaited<ReturnType<typeof verifyRoomToken>>;
    try {
      claims = await verifyRoomToken(
        roomTokenFromUrl(ctx.request.url),
        secretOf(this.room.env),
        this.room.id,
        new Date(),
      );
    } catch {
      conn.close(CloseCodes.UNAUTHORIZED, "unauthorized");
      return;
    }
    await this.room.storage.put("buildingId", this.room.id);
    await this.core.connect(this.wrap(conn), claims);
    await this.scheduleSweep();
  }

  async onMessage(message: string | ArrayBuffer | ArrayBufferView, sender: Party.Connection) {
    await this.core.message(this.wrap(sender), message);
  }

  async onClose(conn: Party.Connection) {
    await this.core.close(this.wrap(conn));
  }

  async onError(conn: Party.Connection) {
    await this.core.close(this.wrap(conn));
  }

  /** Publishing (POST, shared secret) and presence reads (GET, shared secret). */
  async onRequest(req: Party.Request): Promise<Response> {
    if (
      !sameSecret(req.headers.get(PARTY_SECRET_HEADER), this.room.env.PARTYKIT_SECRET as string | undefined)
    ) {
      return new Response(JSON.stringify(problemBody("UNAUTHENTICATED", "missing or wrong party secret")), {
        status: 401,
        headers: { "content-type": "application/problem+json" },
      });
    }
    if (req.method === "GET") {
      return Response.json({ buildingId: this.room.id, members: await this.core.members() });
    }
    if (req.method !== "POST") return new Response(null, { status: 405, headers: { allow: "GET, POST" } });
    const parsed = RoomMessageSchema.safeParse(await req.json().catch(() => null));
    if (!parsed.success || parsed.data.buildingId !== this.room.id) {
      return new Response(
        JSON.stringify(problemBody("BAD_REQUEST", "not a room message for this building")),
        {
          status: 400,
          headers: { "content-type": "application/problem+json" },
        },
      );
    }
    const delivered = await dispatch(this.core, parsed.data);
    return Response.json(parsed.data.type === "revoke" ? { closed: delivered } : { delivered }, {
      status: 202,
    });
  }

  async onAlarm() {
    this.buildingId ??= await this.room.storage.get<string>("buildingId");
    await this.core.sweep();
    await this.scheduleSweep();
  }

  private async scheduleSweep() {
    if ([...this.core.live()].length === 0) return;
    if ((await this.room.storage.getAlarm()) !== null) return;
    const every = Math.max(20, Math.floor(this.core.options.heartbeatTimeoutMs / 4));
    await this.room.storage.setAlarm(Date.now() + every);
  }

  private wrap(conn: Party.Connection): RoomConnection {
    let w = this.wrappers.get(conn);
    if (!w) {
      const c = conn as Party.Connection<ConnectionState>;
      w = {
        id: c.id,
        get state() {
          return c.state as ConnectionState | null;
        },
        setState: (s) => void c.setState(s),
        send: (d) => c.send(d),
        close: (code, reason) => c.close(code, reason),
      };
      this.wrappers.set(conn, w);
    }
    return w;
  }
}

BuildingParty satisfies Party.Worker;
