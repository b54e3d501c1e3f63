/**
 * The outbox: every event leaves the building through here. `recordEvent` (./record.ts) writes
 * an event in the change's transaction; modules register a handler per topic (./registry.ts); the
 * consumer (./consumer.ts) delivers with the topic's retry policy (./policies.ts) over either
 * queue transport; dead events are listed and replayed by platform administrators (./routes).
 */
import type { App } from "../../http/env";
import { registerListDeadOutboxEvents } from "./routes/list-dead";
import { registerReplayDeadOutboxEvents } from "./routes/replay-dead";
import { registerReplayOutboxEvent } from "./routes/replay-event";
import { registerOutboxStats } from "./routes/stats";

export { enqueueAfterCommit, noteRecorded, recordEvent, recordEvents, writeWithEvent } from "./record";
export { outboxHandlers, PermanentDeliveryError } from "./registry";

export function registerOutbox(app: App): void {
  registerListDeadOutboxEvents(app);
  registerReplayDeadOutboxEvents(app);
  registerReplayOutboxEvent(app);
  registerOutboxStats(app);
}
