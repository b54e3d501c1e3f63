/**
 * The room frames a client receives, as plain TypeScript types (no zod): what the client SDK
 * imports, so its published type declarations need nothing but TypeScript. protocol/realtime.ts
 * keeps the zod schemas the server parses with; test/unit/realtime-frames.test.ts fails to compile
 * when these types and the schemas' inferred types drift apart.
 */
export type Role = "manager" | "resident";

export interface PresenceMember {
  userId: string;
  role: Role;
  deviceId: string;
  since: string;
}

export type DomainEvent =
  | {
      kind: "announcement.posted";
      announcementId: string;
      title: string;
      priority: "normal" | "important" | "urgent";
      authorId: string;
    }
  | { kind: "request.status_changed"; requestId: string; from: string | null; to: string; changedBy: string }
  | {
      kind: "payment.recorded";
      paymentId: string;
      apartmentId: string | null;
      amountMinor: number;
      currency: string;
    }
  | { kind: "sync.conflict"; conflictId: string; userId: string; entity: string }
  | { kind: "file.processed"; fileId: string; uploadedBy: string; status: "ready" | "rejected" | "infected" };

export type EventKind = DomainEvent["kind"];

export type ErrorFrameCode =
  | "MALFORMED_JSON"
  | "BINARY_NOT_SUPPORTED"
  | "INVALID_FRAME"
  | "UNKNOWN_TYPE"
  | "FRAME_TOO_LARGE"
  | "TOO_MANY_CONNECTIONS"
  | "ACCESS_REVOKED";

/** Room → client. */
export type ServerFrame =
  | {
      type: "welcome";
      buildingId: string;
      userId: string;
      deviceId: string;
      connectionId: string;
      heartbeatIntervalMs: number;
      heartbeatTimeoutMs: number;
    }
  | { type: "presence.list"; buildingId: string; members: PresenceMember[] }
  | { type: "presence.join"; buildingId: string; member: PresenceMember }
  | {
      type: "presence.leave";
      buildingId: string;
      userId: string;
      deviceId: string;
      reason: "closed" | "timeout";
    }
  | { type: "event"; buildingId: string; event: DomainEvent; at: string; seq?: number | undefined }
  | { type: "poke"; buildingId: string; version: number; seq?: number | undefined }
  | { type: "pong"; t?: number | undefined; serverTime: number }
  | { type: "resync"; buildingId: string }
  | { type: "error"; code: ErrorFrameCode; message: string };

/** Client → room. */
export type ClientFrame =
  | { type: "ping"; t?: number | undefined }
  | { type: "subscribe"; events: EventKind[] }
  | { type: "announce" };
