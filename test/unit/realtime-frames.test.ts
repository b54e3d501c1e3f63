/**
 * The SDK's zod-free room frame types (src/protocol/realtime-frames.ts) must equal what the
 * server's zod schemas infer: `npx tsc -p .` fails on this file when they drift.
 */
import { describe, expect, it } from "vitest";
import type * as Schemas from "../../src/protocol/realtime";
import type * as Plain from "../../src/protocol/realtime-frames";

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const same = <A, B>(ok: Equal<A, B>) => ok;

describe("plain room frame types", () => {
  it("equal the types the zod schemas infer", () => {
    expect(same<Plain.ServerFrame, Schemas.ServerFrame>(true)).toBe(true);
    expect(same<Plain.ClientFrame, Schemas.ClientFrame>(true)).toBe(true);
    expect(same<Plain.PresenceMember, Schemas.PresenceMember>(true)).toBe(true);
    expect(same<Plain.DomainEvent, Schemas.DomainEvent>(true)).toBe(true);
    expect(same<Plain.EventKind, Schemas.EventKind>(true)).toBe(true);
  });
});
