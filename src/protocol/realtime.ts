/**
 * The room protocol: every frame in both directions is a zod discriminated union on `type`, so
 * the room parses untrusted input once and the client SDK types what it receives. The same
 * frames travel over WebSocket (PartyKit and the standalone host) and Server-Sent Events.
 * Shared by the server and the client SDK; the SDK imports types only (`import type`), so the zod
 * schemas stay out of its bundle (test/unit/protocol-imports.test.ts holds it to that).
 */
// The OpenAPI document registers these unions (openapi-schemas.ts): zod 4 gives a schema its
// methods when it is built, so the z that has `.openapi` must build them, whatever loads first.
import { z } from "@hono/zod-openapi";

const uuid = z.uuid();
const isoTime = z.iso.datetime({ offset: true });

export const RoleSchema = z.enum(["manager", "resident"]);

/** One online device of a member. A user on two phones appears twice (one per device). */
export const PresenceMemberSchema = z.strictObject({
  userId: uuid,
  role: RoleSchema,
  deviceId: z.string().min(1).max(128),
  since: isoTime,
});
export type PresenceMember = z.infer<typeof PresenceMemberSchema>;

/** Domain events a building's members see live. Producers: the announcements, maintenance and payments routes. */
export const DomainEventSchema = z.discriminatedUnion("kind", [
  z.strictObject({
    kind: z.literal("announcement.posted"),
    announcementId: uuid,
    title: z.string().max(1000),
    priority: z.enum(["normal", "important", "urgent"]),
    authorId: uuid,
  }),
  z.strictObject({
    kind: z.literal("request.status_changed"),
    requestId: uuid,
    from: z.string().max(64).nullable(),
    to: z.string().max(64),
    changedBy: uuid,
  }),
  z.strictObject({
    kind: z.literal("payment.recorded"),
    paymentId: uuid,
    apartmentId: uuid.nullable(),
    amountMinor: z.number().int(),
    currency: z.string().length(3),
  }),
  /**
   * A sync push of `userId` lost a field to a newer write: that user's clients fetch
   * GET /sync/conflicts. Only ids and the entity travel: the values stay behind the API.
   */
  z.strictObject({
    kind: z.literal("sync.conflict"),
    conflictId: uuid,
    userId: uuid,
    entity: z.string().min(1).max(64),
  }),
  /**
   * An upload of `uploadedBy` finished processing: `ready` (renditions promoted; GET the file for
   * signed URLs), `rejected` (not what it claimed to be, undecodable, too large) or `infected`
   * (malware found; the object is deleted). The uploader's clients stop showing "processing".
   */
  z.strictObject({
    kind: z.literal("file.processed"),
    fileId: uuid,
    uploadedBy: uuid,
    status: z.enum(["ready", "rejected", "infected"]),
  }),
]);
export type DomainEvent = z.infer<typeof DomainEventSchema>;
export const EVENT_KINDS = [
  "announcement.posted",
  "request.status_changed",
  "payment.recorded",
  "sync.conflict",
  "file.processed",
] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

export const REVOKE_REASONS = ["removed", "role_changed", "restricted"] as const;

/**
 * What a publisher sends into a room (bus → room). Presence changes travel the same path on the
 * standalone host so SSE subscribers see them too.
 */
export const RoomMessageSchema = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("poke"), buildingId: uuid, version: z.number().int().nonnegative() }),
  z.strictObject({ type: z.literal("event"), buildingId: uuid, event: DomainEventSchema, at: isoTime }),
  z.strictObject({ type: z.literal("presence.join"), buildingId: uuid, member: PresenceMemberSchema }),
  z.strictObject({
    type: z.literal("presence.leave"),
    buildingId: uuid,
    userId: uuid,
    deviceId: z.string().min(1).max(128),
    reason: z.enum(["closed", "timeout"]),
  }),
  /**
   * A user's standing in the building changed (removed, role changed, account restricted): the
   * room closes that user's connections opened with tokens minted before building version
   * `version`, and refuses such tokens from now on (ADR 0003). Never forwarded to clients.
   */
  z.strictObject({
    type: z.literal("revoke"),
    buildingId: uuid,
    userId: uuid,
    version: z.number().int().nonnegative(),
    reason: z.enum(REVOKE_REASONS),
  }),
]);
export type RoomMessage = z.infer<typeof RoomMessageSchema>;
export type RevokeMessage = Extract<RoomMessage, { type: "revoke" }>;
/** What reaches members: every room message except revocations, which only the room acts on. */
export type MemberMessage = Exclude<RoomMessage, RevokeMessage>;

/** Client → room. */
export const ClientFrameSchema = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("ping"), t: z.number().finite().optional() }),
  /** Which domain event kinds to receive; absent or empty = all. Sent again after every reconnect. */
  z.strictObject({
    type: z.literal("subscribe"),
    events: z.array(z.enum(EVENT_KINDS)).max(EVENT_KINDS.length),
  }),
  /** Presence re-announce after a reconnect: the room answers with the current list. */
  z.strictObject({ type: z.literal("announce") }),
]);
export type ClientFrame = z.infer<typeof ClientFrameSchema>;

export const ERROR_FRAME_CODES = [
  "MALFORMED_JSON",
  "BINARY_NOT_SUPPORTED",
  "INVALID_FRAME",
  "UNKNOWN_TYPE",
  "FRAME_TOO_LARGE",
  "TOO_MANY_CONNECTIONS",
  /** Sent just before the room closes a connection whose access was revoked (close code 4403). */
  "ACCESS_REVOKED",
] as const;

/** Room → client. `seq` is the room log position where the host keeps one (standalone, SSE ids). */
export const ServerFrameSchema = z.discriminatedUnion("type", [
  z.strictObject({
    type: z.literal("welcome"),
    buildingId: uuid,
    userId: uuid,
    deviceId: z.string(),
    connectionId: z.string(),
    heartbeatIntervalMs: z.number().int().positive(),
    heartbeatTimeoutMs: z.number().int().positive(),
  }),
  z.strictObject({
    type: z.literal("presence.list"),
    buildingId: uuid,
    members: z.array(PresenceMemberSchema),
  }),
  z.strictObject({ type: z.literal("presence.join"), buildingId: uuid, member: PresenceMemberSchema }),
  z.strictObject({
    type: z.literal("presence.leave"),
    buildingId: uuid,
    userId: uuid,
    deviceId: z.string(),
    reason: z.enum(["closed", "timeout"]),
  }),
  z.strictObject({
    type: z.literal("event"),
    buildingId: uuid,
    event: DomainEventSchema,
    at: isoTime,
    seq: z.number().int().optional(),
  }),
  z.strictObject({
    type: z.literal("poke"),
    buildingId: uuid,
    version: z.number().int(),
    seq: z.number().int().optional(),
  }),
  z.strictObject({ type: z.literal("pong"), t: z.number().optional(), serverTime: z.number() }),
  /** The SSE stream resumed from an id older than the room log keeps: pull everything (syncNow). */
  z.strictObject({ type: z.literal("resync"), buildingId: uuid }),
  z.strictObject({ type: z.literal("error"), code: z.enum(ERROR_FRAME_CODES), message: z.string() }),
]);
export type ServerFrame = z.infer<typeof ServerFrameSchema>;

/** WebSocket close codes the room uses (4000–4999 are application codes, RFC 6455 §7.4.2). */
export const CloseCodes = {
  /** RFC 6455: message too big. */
  FRAME_TOO_LARGE: 1009,
  /** The client stopped answering heartbeats. */
  HEARTBEAT_TIMEOUT: 4000,
  /** Token missing, forged, expired or for another room (PartyKit rooms that accepted first). */
  UNAUTHORIZED: 4401,
  /** The user already holds the maximum number of connections to this building. */
  TOO_MANY_CONNECTIONS: 4429,
  /**
   * The user was removed from the building, changed role or was restricted: the token no longer
   * admits. Request a new token (a former member gets 404 and should stop reconnecting).
   */
  REVOKED: 4403,
} as const;

export type ParseResult =
  | { ok: true; frame: ClientFrame }
  | { ok: false; error: Extract<ServerFrame, { type: "error" }> };

const KNOWN_CLIENT_TYPES = new Set(["ping", "subscribe", "announce"]);

function errorFrame(code: (typeof ERROR_FRAME_CODES)[number], message: string) {
  return { type: "error" as const, code, message };
}

/**
 * Parses one inbound frame. Never throws: binary data, invalid JSON, unknown types and invalid
 * shapes each become an error frame for the sender.
 */
export function parseClientFrame(data: unknown): ParseResult {
  if (typeof data !== "string") {
    return { ok: false, error: errorFrame("BINARY_NOT_SUPPORTED", "frames are UTF-8 JSON text") };
  }
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch {
    return { ok: false, error: errorFrame("MALFORMED_JSON", "the frame is not valid JSON") };
  }
  const type = typeof json === "object" && json !== null ? (json as { type?: unknown }).type : undefined;
  if (typeof type !== "string" || !KNOWN_CLIENT_TYPES.has(type)) {
    return {
      ok: false,
      error: errorFrame(
        "UNKNOWN_TYPE",
        `unknown frame type; expected one of ${[...KNOWN_CLIENT_TYPES].join(", ")}`,
      ),
    };
  }
  const parsed = ClientFrameSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return {
      ok: false,
      error: errorFrame(
        "INVALID_FRAME",
        `${type}: ${issue?.path.join(".") || "frame"}: ${issue?.message ?? "invalid"}`,
      ),
    };
  }
  return { ok: true, frame: parsed.data };
}
