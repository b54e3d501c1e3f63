/**
 * The realtime bus port: publishes a message into one building's room. Adapters: in-process
 * (standalone; rooms and SSE streams in the same process subscribe to it, with a bounded log per
 * building for resumable SSE) and PartyKit (HTTP POST to the room with a shared secret).
 * Messages are plain JSON with a `type` and a `buildingId`; the room validates them (zod) before
 * anything reaches a socket.
 */
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
  readonly kind: "memory" | "partykit";
  publish(message: BusMessage): Promise<void>;
  /**
   * Live messages of one building (in-process bus only: on PartyKit the room itself holds the
   * sockets). `afterSeq` replays from the log first, for SSE Last-Event-ID.
   */
  subscribe?(buildingId: string, listener: BusListener, options?: { afterSeq?: number }): Subscription;
  close?(): Promise<void>;
}
