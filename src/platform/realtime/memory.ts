/**
 * In-process realtime bus (standalone host). Every message gets an id from one counter seeded
 * with the start time in microseconds, so ids keep increasing across restarts and an SSE client
 * resuming with an id from before a restart is told to resync instead of silently missing
 * messages. Each building keeps a bounded log (ring) of its recent messages; the number of
 * building logs is bounded too (least recently used without listeners goes first).
 */
import { buildingLogs } from "./building-logs";
import type { BusEnvelope, BusListener, BusMessage, RealtimeBus, Subscription } from "./index";

export interface MemoryBusOptions {
  logSize?: number;
  maxBuildings?: number;
  onListenerError?: (err: unknown) => void;
}

export function createMemoryBus(options: MemoryBusOptions = {}): RealtimeBus {
  const logSize = options.logSize ?? 256;
  const maxBuildings = options.maxBuildings ?? 10_000;
  let seq = Date.now() * 1000;
  const logs = buildingLogs(maxBuildings, () => seq);
  const log = logs.of;

  return {
    kind: "memory",
    async publish(message: BusMessage) {
      const l = log(message.buildingId);
      const envelope: BusEnvelope = { seq: ++seq, message };
      l.ring.push(envelope);
      if (l.ring.length > logSize) l.floor = l.ring.shift()!.seq;
      for (const listener of l.listeners) {
        try {
          listener(envelope);
        } catch (err) {
          options.onListenerError?.(err);
        }
      }
    },
    subscribe(buildingId: string, listener: BusListener, opts: { afterSeq?: number } = {}): Subscription {
      const l = log(buildingId);
      let replay: BusEnvelope[] | "gap" = [];
      if (opts.afterSeq !== undefined) {
        replay = opts.afterSeq < l.floor ? "gap" : l.ring.filter((e) => e.seq > opts.afterSeq!);
      }
      l.listeners.add(listener);
      return { replay, unsubscribe: () => void l.listeners.delete(listener) };
    },
  };
}

/**
 * One in-process bus per config, so the rooms, SSE streams and writers of one process (or one
 * Worker isolate without PartyKit) share it. Hosts pass it as their default `realtime`.
 */
const busesByConfig = new WeakMap<object, RealtimeBus>();
export function memoryBusFor(config: object): RealtimeBus {
  let bus = busesByConfig.get(config);
  if (!bus) {
    bus = createMemoryBus();
    busesByConfig.set(config, bus);
  }
  return bus;
}
