/**
 * The per-building message logs the in-process and Redis buses keep for replay: a bounded ring per
 * building, and a bounded number of buildings (the least recently used one without listeners goes
 * first; Map order doubles as LRU order).
 */
import type { BusEnvelope, BusListener } from "./index";

export interface BuildingLog {
  ring: BusEnvelope[];
  /** Highest id no longer in the ring (ids ≤ floor cannot be replayed). */
  floor: number;
  listeners: Set<BusListener>;
}

/**
 * The log of a building, created on first use with `floor()` as its floor (the highest id the bus
 * has handed out or seen: a new log cannot replay anything before it).
 */
export function buildingLogs(
  maxBuildings: number,
  floor: () => number,
): { of(buildingId: string): BuildingLog; values(): Iterable<BuildingLog> } {
  const logs = new Map<string, BuildingLog>();
  return { of, values: () => logs.values() };

  function of(buildingId: string): BuildingLog {
    let l = logs.get(buildingId);
    if (l) {
      logs.delete(buildingId);
      logs.set(buildingId, l);
      return l;
    }
    l = { ring: [], floor: floor(), listeners: new Set() };
    logs.set(buildingId, l);
    if (logs.size > maxBuildings) {
      for (const [id, old] of logs) {
        if (logs.size <= maxBuildings) break;
        if (old.listeners.size === 0 && id !== buildingId) logs.delete(id);
      }
    }
    return l;
  }
}
