/**
 * Live building rooms: the room protocol and core (shared by PartyKit and the standalone host),
 * room tokens, presence, the SSE fallback, and publishing pokes and domain events after commit.
 * Producers call `recordBuildingEvent(tx, buildingId, event)` inside their transaction.
 */
import type { App } from "../../http/env";
import { registerRealtimeHandlers } from "./outbox-handlers";
import { registerCreateRoomToken } from "./routes/create-token";
import { registerGetPresence } from "./routes/get-presence";
import { registerStreamEvents } from "./routes/stream-events";

export { publishBuildingEvent, recordBuildingEvent } from "./publish";

// Pokes, events and revocations the fast path after commit missed go through the outbox queue.
registerRealtimeHandlers();

export function registerRealtime(app: App): void {
  registerCreateRoomToken(app);
  registerGetPresence(app);
  registerStreamEvents(app);
}
