/**
 * Hybrid logical clocks (Kulkarni et al. 2014), shared by the SDK and the server. A clock is
 * `<wall ms, 15 digits>-<counter, 6 digits>-<node>`: fixed-width numbers, so comparing the
 * parsed triple (wall, counter, node) is a total order, and the node (device id) is the
 * deterministic tiebreak between two devices that edited in the same millisecond.
 */
export interface Hlc {
  wall: number;
  counter: number;
  node: string;
}

const NODE = /^[A-Za-z0-9_.:-]{1,64}$/;
const HLC_RE = /^(\d{15})-(\d{6})-([A-Za-z0-9_.:-]{1,64})$/;
export const MAX_WALL = 999_999_999_999_999;
export const MAX_COUNTER = 999_999;

export function isNodeId(node: string): boolean {
  return NODE.test(node);
}

export function formatHlc(h: Hlc): string {
  return `${String(h.wall).padStart(15, "0")}-${String(h.counter).padStart(6, "0")}-${h.node}`;
}

/** Parses a clock string; null when malformed. */
export function parseHlc(s: unknown): Hlc | null {
  if (typeof s !== "string") return null;
  const m = HLC_RE.exec(s);
  if (!m) return null;
  return { wall: Number(m[1]), counter: Number(m[2]), node: m[3]! };
}

export function compareHlc(a: Hlc, b: Hlc): number {
  if (a.wall !== b.wall) return a.wall < b.wall ? -1 : 1;
  if (a.counter !== b.counter) return a.counter < b.counter ? -1 : 1;
  return a.node < b.node ? -1 : a.node > b.node ? 1 : 0;
}

export function maxHlc(a: Hlc, b: Hlc): Hlc {
  return compareHlc(a, b) >= 0 ? a : b;
}

/** A clock of one node: `tick()` for local events, `receive()` to merge a remote clock. */
export class HlcClock {
  private last: Hlc;

  constructor(
    readonly node: string,
    private readonly now: () => number = Date.now,
    last?: Hlc | null,
  ) {
    if (!isNodeId(node)) throw new Error(`invalid HLC node id "${node}"`);
    this.last = last ?? { wall: 0, counter: 0, node };
  }

  tick(): Hlc {
    const wall = Math.max(this.now(), this.last.wall);
    const counter = wall === this.last.wall ? this.last.counter + 1 : 0;
    this.last =
      counter > MAX_COUNTER
        ? { wall: wall + 1, counter: 0, node: this.node }
        : { wall, counter, node: this.node };
    return this.last;
  }

  receive(remote: Hlc): void {
    const now = this.now();
    const wall = Math.max(now, this.last.wall, remote.wall);
    let counter = 0;
    if (wall === this.last.wall && wall === remote.wall)
      counter = Math.max(this.last.counter, remote.counter) + 1;
    else if (wall === this.last.wall) counter = this.last.counter + 1;
    else if (wall === remote.wall) counter = remote.counter + 1;
    this.last =
      counter > MAX_COUNTER
        ? { wall: wall + 1, counter: 0, node: this.node }
        : { wall, counter, node: this.node };
  }

  current(): Hlc {
    return this.last;
  }
}
