/**
 * The stored form of a row's field clocks (the sync_clocks column, ADR 0002). Most rows carry one
 * clock for many fields — a create stamps every field it sets with the op's clock, and a batch of
 * edits by one device often does the same — so the clock most fields share is stored once, `d`,
 * with the names of its fields, and `f` keeps only the fields with other clocks. A row created
 * with five fields stores one clock instead of five (about a third of the bytes). Rows written in
 * the older form (`f` only) read the same.
 */
import type { FieldClock, SyncClocks } from "../../db/columns";

/** Every field's clock, whichever form `c` is in. */
export function unpackClocks(c: SyncClocks): Record<string, FieldClock> {
  if (!c.d) return c.f;
  const out: Record<string, FieldClock> = { ...c.f };
  for (const k of c.d.k) out[k] ??= { h: c.d.h, u: c.d.u };
  return out;
}

/** The stored form of `clocks` at version `v`: the clock shared by the most fields (two or more) goes in `d`. */
export function packClocks(v: number, clocks: Record<string, FieldClock>): SyncClocks {
  const keys = Object.keys(clocks);
  if (keys.length < 2) return { v, f: clocks };
  // The usual case (a create, or one device's edits): every field has the same clock.
  const first = clocks[keys[0]!]!;
  let i = 1;
  while (i < keys.length && clocks[keys[i]!]!.h === first.h && clocks[keys[i]!]!.u === first.u) i++;
  if (i === keys.length) return { v, d: { h: first.h, u: first.u, k: keys }, f: {} };
  const groups = new Map<string, string[]>();
  let best: string[] | undefined;
  for (const [k, c] of Object.entries(clocks)) {
    const id = `${c.h}\u0000${c.u ?? ""}`;
    const g = groups.get(id);
    if (g) g.push(k);
    else groups.set(id, [k]);
    const now = g ?? groups.get(id)!;
    if (!best || now.length > best.length) best = now;
  }
  if (!best || best.length < 2) return { v, f: clocks };
  const shared = clocks[best[0]!]!;
  const f: Record<string, FieldClock> = {};
  const inShared = new Set(best);
  for (const [k, c] of Object.entries(clocks)) if (!inShared.has(k)) f[k] = c;
  return { v, d: { h: shared.h, u: shared.u, k: best }, f };
}
