/**
 * The Server-Sent Events fallback, framework-free: an async stream of the same frames a room
 * member receives over WebSocket. Resumable: each logged message carries its bus id as the SSE
 * id, a client reconnecting with Last-Event-ID first gets what it missed from the building's log,
 * or a `resync` frame when the log no longer reaches back that far. The SSE client counts as an
 * online device while its stream is open. A revocation of the member (removal, role change,
 * restriction) ends the stream with an ACCESS_REVOKED error frame.
 */
import type { BusEnvelope } from "../../platform/realtime";
import { RoomMessageSchema, type ServerFrame } from "../../protocol/realtime";
import type { Services } from "../../services";
import { presenceOf } from "./presence";
import { toFrame } from "./room";

export interface SseItem {
  id?: string;
  event: string;
  data: string;
}

export interface StreamMember {
  userId: string;
  role: "manager" | "resident";
  deviceId: string;
}

const item = (frame: ServerFrame, id?: number): SseItem => ({
  ...(id !== undefined ? { id: String(id) } : {}),
  event: frame.type,
  data: JSON.stringify(frame),
});

function frameOf(envelope: BusEnvelope): SseItem | null {
  const parsed = RoomMessageSchema.safeParse(envelope.message);
  if (!parsed.success || parsed.data.type === "revoke") return null;
  return item(toFrame(parsed.data, envelope.seq), envelope.seq);
}

const REVOKED: ServerFrame = {
  type: "error",
  code: "ACCESS_REVOKED",
  message:
    "your access to this building changed (removed, new role or account restricted); reconnect to continue if you still may",
};

/** Yields SSE items until `signal` aborts; `null` items are keep-alive ticks (write a comment). */
export async function* buildingEventStream(options: {
  services: Services;
  buildingId: string;
  member: StreamMember;
  afterSeq?: number;
  signal: AbortSignal;
  /**
   * Re-reads the member's standing once the stream is subscribed: a revocation published between
   * the route's membership check and the subscription would otherwise be missed.
   */
  stillAllowed?: () => Promise<boolean>;
  /**
   * Look at the queue every `pollMs` instead of being woken by the publisher. Workers: a publish
   * runs in another request's context, and a promise of this stream's request resolved from there
   * makes workerd warn ("A promise was resolved or rejected from a different request context")
   * and can resume this stream's code in a context that is already gone.
   */
  pollMs?: number;
  /**
   * Keep-alive comment interval (default: the heartbeat interval). Workers only notice that a
   * client went away when a write to it fails, so a Worker writes one every second or so.
   */
  keepAliveMs?: number;
}): AsyncGenerator<SseItem | null> {
  const { services, buildingId, member, signal, pollMs } = options;
  const bus = services.realtime;
  if (!bus.subscribe) throw new Error("SSE needs the in-process realtime bus");
  const { REALTIME_HEARTBEAT_INTERVAL_MS: interval } = services.config;
  const keepAlive = Math.min(options.keepAliveMs ?? interval, interval);

  const queue: BusEnvelope[] = [];
  let wake: (() => void) | null = null;
  let revoked = false;
  const subscription = bus.subscribe(
    buildingId,
    (e) => {
      if (e.message.type === "revoke") {
        if (e.message.userId !== member.userId) return;
        revoked = true;
      } else queue.push(e);
      if (pollMs === undefined) wake?.();
    },
    options.afterSeq !== undefined ? { afterSeq: options.afterSeq } : {},
  );
  const onAbort = () => wake?.();
  signal.addEventListener("abort", onAbort);

  const connectionId = `sse-${crypto.randomUUID()}`;
  const since = services.clock.now().toISOString();
  const presence = { buildingId, connectionId, since, ...member };
  let online = false;
  try {
    if (options.stillAllowed && !(await options.stillAllowed().catch(() => true))) revoked = true;
    if (revoked) {
      yield item(REVOKED);
      return;
    }
    const { firstForDevice } = await presenceOf(services).setOnline(presence);
    online = true;
    if (subscription.replay === "gap") yield item({ type: "resync", buildingId });
    else for (const e of subscription.replay) if (e) yield frameOf(e) ?? null;
    yield item({
      type: "presence.list",
      buildingId,
      members: await presenceOf(services).getOnlineUsers(buildingId),
    });
    if (firstForDevice) {
      await bus.publish({ type: "presence.join", buildingId, member: { ...member, since } });
    }
    let lastRefresh = Date.now();
    let lastSent = Date.now();
    while (!signal.aborted) {
      // A revocation wins over anything still queued: nothing more reaches a revoked member.
      if (revoked) {
        yield item(REVOKED);
        break;
      }
      if (queue.length === 0) {
        const quiet = Math.max(1, keepAlive - (Date.now() - lastSent));
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, pollMs === undefined ? quiet : Math.min(pollMs, quiet));
        });
        wake = null;
      }
      if (signal.aborted) break;
      if (revoked) continue;
      if (Date.now() - lastRefresh >= interval) {
        await presenceOf(services).setOnline(presence);
        lastRefresh = Date.now();
      }
      if (queue.length === 0) {
        if (Date.now() - lastSent >= keepAlive) {
          lastSent = Date.now();
          yield null;
        }
        continue;
      }
      for (const e of queue.splice(0)) {
        const frame = frameOf(e);
        if (frame) yield frame;
      }
      lastSent = Date.now();
    }
  } finally {
    subscription.unsubscribe();
    signal.removeEventListener("abort", onAbort);
    if (online) {
      const { lastForDevice } = await presenceOf(services)
        .setOffline(presence)
        .catch(() => ({ lastForDevice: false }));
      if (lastForDevice) {
        await bus
          .publish({
            type: "presence.leave",
            buildingId,
            userId: member.userId,
            deviceId: member.deviceId,
            reason: "closed",
          })
          .catch(() => {});
      }
    }
  }
}
