/**
 * A posted announcement reaches the building's room after commit: the poke (clients pull) and the
 * `announcement.posted` event frame, in that order, on every post.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BusEnvelope } from "../../../src/platform/realtime";
import { createMemoryBus } from "../../../src/platform/realtime/memory";
import { createTestApp, type TestApp } from "../../support/app";
import { createBuilding, json } from "../../support/fixtures";
import { waitFor } from "../../support/wait";

describe("announcement post → room", () => {
  let t: TestApp;
  const bus = createMemoryBus();
  beforeAll(async () => {
    t = await createTestApp({ db: "pglite" });
    t.services.realtime = bus;
  });
  afterAll(async () => {
    await t?.close();
  });

  it("pokes the room and sends the event frame for each of several posts", async () => {
    const b = await createBuilding(t.services);
    const seen: BusEnvelope[] = [];
    const sub = bus.subscribe!(b.id, (e) => seen.push(e));
    for (let i = 0; i < 3; i++) {
      const before = seen.length;
      const res = await t.request(
        `/api/v1/buildings/${b.id}/announcements`,
        json({ title: `Notice ${i}`, body: "…" }, b.manager.auth),
      );
      expect(res.status).toBe(201);
      const mine = await waitFor("poke and frame", () => {
        const got = seen.slice(before);
        return got.length >= 2 && got;
      });
      expect(mine.map((e) => e.message.type)).toEqual(["poke", "event"]);
      expect((mine[1]!.message as unknown as { event: { kind: string; title: string } }).event).toMatchObject(
        {
          kind: "announcement.posted",
          title: `Notice ${i}`,
        },
      );
    }
    sub.unsubscribe();
  });
});
