/**
 * Wires the in-process queue transport to this module's consumer on a services bundle: what the
 * standalone host (and tests of the real app) call so committed events reach their handlers in
 * the same process.
 */
import { createInProcessQueue, type InProcessQueue } from "../../platform/queue/in-process";
import type { Services } from "../../services";
import { pruneDelivered } from "./admin";
import { createOutboxConsumer, type OutboxConsumerOptions } from "./consumer";

export function startInProcessQueue(
  services: Services,
  options: OutboxConsumerOptions & { pollMs?: number; batch?: number } = {},
): InProcessQueue {
  let queue: InProcessQueue | undefined;
  const consumer = createOutboxConsumer(services, {
    ...options,
    onReschedule: (at) => queue?.schedule(at),
  });
  queue = createInProcessQueue({
    consumer,
    logger: services.logger,
    pollMs: options.pollMs ?? services.config.OUTBOX_POLL_MS,
    batch: options.batch,
    housekeeping: () => pruneDelivered(services),
    housekeepingMs: 15 * 60 * 1000,
  });
  services.queue = queue;
  queue.start();
  return queue;
}
