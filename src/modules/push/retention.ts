/**
 * Delivery-log retention: push_deliveries rows older than PUSH_DELIVERY_RETENTION_DAYS are
 * deleted (the log answers "did this reach that device" for recent notifications; it is not an
 * archive). Run by the hosts' outbox housekeeping.
 */
import { lt } from "drizzle-orm";
import type { Services } from "../../services";
import { pushDeliveries } from "./schema";

export async function prunePushDeliveries(
  services: Services,
  options: { olderThanMs?: number } = {},
): Promise<number> {
  const ms = options.olderThanMs ?? services.config.PUSH_DELIVERY_RETENTION_DAYS * 24 * 3600_000;
  const cutoff = new Date(services.clock.now().getTime() - ms);
  const deleted = await services.database.db
    .delete(pushDeliveries)
    .where(lt(pushDeliveries.createdAt, cutoff))
    .returning({ id: pushDeliveries.id });
  return deleted.length;
}
