/**
 * Redis pub/sub realtime bus, for several standalone replicas behind one load balancer: a write
 * on any replica reaches the rooms and SSE streams of every replica. Node/Bun only (ioredis):
 * workers/node-services.ts builds it when REALTIME_BUS=redis; the Worker never imports it.
 *
 * Every replica subscribes to one channel and keeps the same bounded per-building log as the
 * in-process bus, fed by the channel, so `subscribe` stays synchronous and SSE resumption works
 * on whichever replica a client reconnects to. Ids come from one Redis counter, taken and
 * published in one Lua script: ids increase across replicas and restarts (seeded with the clock
 * in microseconds like the memory bus), and every replica sees messages in id order. A replica
 * that loses its subscription resets its logs' floors on reconnect, so a client resuming across
 * the outage is told to resync instead of silently missing messages.
 */
import { Redis } from "ioredis";
import { buildingLogs } from "./building-logs";
import type { BusEnvelope, BusListener, BusMessage, RealtimeBus, Subscription } from "./index";

export interface RedisBusOptions {
  url: string;
  /** Channel and id counter prefix (default "horizon:realtime"); one per deployment. */
  prefix?: string;
  logSize?: number;
  maxBuildings?: number;
  onListenerError?: (err: unknown) => void;
  onError?: (err: unknown) => void;
}

export interface RedisBus extends RealtimeBus {
  /** Resolves once this replica is subscribed (publish waits for it too). */
  readonly ready: Promise<void>;
  subscribe(buildingId: string, listener: BusListener, options?: { afterSeq?: number }): Subscription;
  close(): Promise<void>;
}

// Seed the counter with the caller's clock (microseconds) the first time, take the next id and
// publish the envelope, atomically: the channel carries messages in id order. "%d" keeps a
// 16-digit id exact (tostring would print it in exponent form).
const PUBLISH_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('SET', KEYS[1], ARGV[3]) end
local seq = redis.call('INCR', KEYS[1])
redis.call('PUBLISH', ARGV[1], '{"seq":' .. string.format('%d', seq) .. ',"message":' .. ARGV[2] .. '}')
return seq
`;

export function createRedisBus(options: RedisBusOptions): RedisBus {
  const prefix = options.prefix ?? "horizon:realtime";
  const channel = `${prefix}:bus`;
  const seqKey = `${prefix}:seq`;
  const logSize = options.logSize ?? 256;
  const maxBuildings = options.maxBuildings ?? 10_000;
  const onError = options.onError ?? (() => {});
  // Named connections, so an operator (or a test) can tell them apart in CLIENT LIST.
  const pub = new Redis(options.url, { maxRetriesPerRequest: 2, connectionName: `${prefix}:pub` });
  const sub = new Redis(options.url, { maxRetriesPerRequest: null, connectionName: `${prefix}:sub` });
  pub.on("error", onError);
  sub.on("error", onError);

  /** Highest id this replica knows of: ids at or below it that are not in a ring cannot be replayed. */
  let highest = 0;
  const logs = buildingLogs(maxBuildings, () => highest);
  const log = logs.of;

  function deliver(raw: string) {
    let envelope: BusEnvelope;
    try {
      envelope = JSON.parse(raw) as BusEnvelope;
    } catch (err) {
      onError(err);
      return;
    }
    if (typeof envelope.seq !== "number" || typeof envelope.message?.buildingId !== "string") return;
    if (envelope.seq <= highest) return; // already seen (cannot happen on one channel; cheap to hold)
    highest = envelope.seq;
    const l = log(envelope.message.buildingId);
    l.ring.push(envelope);
    if (l.ring.length > logSize) l.floor = l.ring.shift()!.seq;
    for (const listener of l.listeners) {
      try {
        listener(envelope);
      } catch (err) {
        options.onListenerError?.(err);
      }
    }
  }

  async function currentSeq(): Promise<number> {
    return Number((await pub.get(seqKey)) ?? 0);
  }

  sub.on("message", (ch: string, raw: string) => {
    if (ch === channel) deliver(raw);
  });

  let subscribed = false;
  const ready = (async () => {
    await sub.subscribe(channel);
    // The first replica up seeds the counter, so an id from before it (a client of an older
    // deployment) is below every log's floor: a gap, never a silent empty replay.
    await pub.set(seqKey, String(Date.now() * 1000), "NX");
    highest = Math.max(highest, await currentSeq());
    subscribed = true;
  })();
  ready.catch(onError);

  // ioredis resubscribes after a reconnect; what was published meanwhile never arrived here.
  sub.on("ready", () => {
    if (!subscribed) return;
    currentSeq()
      .then((seq) => {
        highest = Math.max(highest, seq);
        for (const l of logs.values()) {
          l.ring = [];
          l.floor = highest;
        }
      })
      .catch(onError);
  });

  return {
    kind: "redis",
    ready,
    async publish(message: BusMessage) {
      await ready;
      await pub.eval(PUBLISH_SCRIPT, 1, seqKey, channel, JSON.stringify(message), String(Date.now() * 1000));
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
    async close() {
      await Promise.allSettled([sub.quit(), pub.quit()]);
    },
  };
}

/** One Redis bus per config, like memoryBusFor: the rooms, streams and writers of a process share it. */
const busesByConfig = new WeakMap<object, RedisBus>();
export function redisBusFor(
  config: { REDIS_URL?: string | undefined; KV_PREFIX?: string },
  onError?: (err: unknown) => void,
): RedisBus {
  let bus = busesByConfig.get(config);
  if (!bus) {
    if (!config.REDIS_URL) throw new Error("REALTIME_BUS=redis needs REDIS_URL");
    bus = createRedisBus({
      url: config.REDIS_URL,
      // The deployment's key prefix (config KV_PREFIX), as for kv entries and rate-limit counters.
      ...(config.KV_PREFIX ? { prefix: `${config.KV_PREFIX}realtime` } : {}),
      ...(onError ? { onError } : {}),
    });
    busesByConfig.set(config, bus);
  }
  return bus;
}
