/**
 * Wires the in-process queue transport to the outbox consumer on a services bundle: what the
 * standalone host (and tests of the real app) call so committed events reach their handlers in
 * the same process. It lives with the hosts because choosing an adapter is a host's job: modules
 * reach the queue only through `services.queue`.
 */

import { pruneDelivered } from "../src/modules/outbox/admin";
import { createOutboxConsumer, type OutboxConsumerOptions } from "../src/modules/outbox/consumer";
import { prunePushDeliveries } from "../src/modules/push/retention";
import { createInProcessQueue, type InProcessQueue } from "../src/platform/queue/in-process";
import type { Services } from "../src/services";

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
    housekeeping: async () => {
      await pruneDelivered(services);
      await prunePushDeliveries(services);
    },
    housekeepingMs: 15 * 60 * 1000,
  });
  services.queue = queue;
  queue.start();
  return queue;
}
