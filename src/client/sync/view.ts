/**
 * Optimistic view: the pulled server rows of an entity with the queued ops replayed on top, in
 * queue order. Applied-but-not-yet-pulled ops are replayed too, so an edit stays visible until
 * the pull that contains it arrives.
 */
import type { SyncEntity, SyncRow } from "../../protocol/sync";
import type { StoreState } from "./store";

export function visibleRows(state: StoreState, entity: SyncEntity): Record<string, SyncRow> {
  const rows: Record<string, SyncRow> = { ...(state.rows[entity] ?? {}) };
  for (const op of state.queue) {
    if (op.entity !== entity) continue;
    const current = rows[op.id];
    if (op.type === "delete") delete rows[op.id];
    else if (op.type === "create")
      rows[op.id] = {
        ...(current ?? {}),
        ...(op.fields ?? {}),
        id: op.id,
        buildingId: op.buildingId,
      } as SyncRow;
    else if (current) rows[op.id] = { ...current, ...(op.fields ?? {}) };
  }
  return rows;
}
