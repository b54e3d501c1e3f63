/**
 * Domain events through the real routes: each REST write records one envelope per subscribed topic
 * in its transaction (same eventId for every subscriber), with data its type's schema accepts; a
 * sync batch records one fan-out row, whose handler (run here through the real consumer) writes
 * the subscribers' rows; a write that fails records nothing; a scheduled announcement is published
 * to subscribers by the due sweep, not when it is written.
 */
import { sql } from "drizzle-orm";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { FANOUT_TOPIC, subscribeToDomainEvents } from "../../../src/modules/events";
import { publishDueAnnouncements } from "../../../src/modules/sync/scheduled";
import { queryRows } from "../../../src/platform/db";
import {
  DOMAIN_EVENT_BATCH_MAX,
  type DomainEventEnvelope,
  DomainEventFanoutSchema,
  DomainEventPayloadSchema,
  envelopesOf,
  parseDomainEvent,
} from "../../../src/protocol/events";
import { createTestApp, type TestApp } from "../../support/app";
import { DB_KINDS } from "../../support/db";
import { createBuilding, json, type TestBuilding } from "../../support/fixtures";
import { deliverPending } from "../../support/outbox";
import { announcementCreates, hlcAt, opId, push } from "../sync/helpers";

const A = "test-events.a";
const B = "test-events.b";

describe.each(DB_KINDS)("domain events on %s", (kind) => {
  let t: TestApp;
  let b: TestBuilding;
  const unsubscribe: Array<() => void> = [];

  beforeAll(async () => {
    t = await createTestApp({ db: kind });
    unsubscribe.push(subscribeToDomainEvents({ topic: A }));
    unsubscribe.push(subscribeToDomainEvents({ topic: B, types: ["maintenance.status_changed"] }));
  });
  afterAll(async () => {
    for (const u of unsubscribe) u();
    await t?.close();
  });
  afterEach(async () => {
    await t.services.database.db.execute(
      sql`delete from outbox where topic in (${A}, ${B}, ${FANOUT_TOPIC})`,
    );
  });

  /** The outbox rows of `topic`: their payloads as stored, and the correlation id of each. */
  async function rowsOf(topic: string) {
    return queryRows<{ payload: unknown; correlation_id: string }>(
      t.services.database.db,
      sql`select payload, correlation_id from outbox where topic = ${topic} order by created_at, id`,
    );
  }

  /** The domain events recorded for `topic`, one per envelope (a sync batch's row holds several). */
  async function recorded(topic: string): Promise<Array<DomainEventEnvelope & { correlation: string }>> {
    return (await rowsOf(topic)).flatMap((r) =>
      envelopesOf(DomainEventPayloadSchema.parse(r.payload)).map((e) => ({
        ...parseDomainEvent(e),
        correlation: r.correlation_id,
      })),
    );
  }

  const send = (path: string, method: string, body: unknown, auth: Record<string, string>) =>
    t.request(path, { ...json(body, { ...auth, "x-correlation-id": "corr-domain" }), method });

  it("announcements: published, updated and deleted, with the request's correlation id", async () => {
    b = await createBuilding(t.services);
    const base = `/api/v1/buildings/${b.id}/announcements`;
    const res = await send(
      base,
      "POST",
      { title: "Water off", body: "10–12", priority: "urgent" },
      b.manager.auth,
    );
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    expect(
      (await send(`${base}/${id}`, "PATCH", { title: "Water off (updated)" }, b.manager.auth)).status,
    ).toBe(200);
    expect(
      (await t.request(`${base}/${id}`, { method: "DELETE", headers: b.manager.auth })).status,
    ).toBeLessThan(300);
    const events = await recorded(A);
    expect(events.map((e) => e.type)).toEqual([
      "announcement.published",
      "announcement.updated",
      "announcement.deleted",
    ]);
    expect(events[0]).toMatchObject({
      buildingId: b.id,
      actorId: b.manager.id,
      correlation: "corr-domain",
      data: { announcementId: id, title: "Water off", priority: "urgent", authorId: b.manager.id },
    });
    expect(events[1]!.data).toMatchObject({ title: "Water off (updated)" });
    expect(new Set(events.map((e) => e.eventId)).size).toBe(3);
    // B only wants status changes.
    expect(await recorded(B)).toEqual([]);
  });

  it("a scheduled announcement reaches subscribers when the due sweep publishes it", async () => {
    b = await createBuilding(t.services);
    const at = new Date(Date.now() + 60_000);
    const res = await send(
      `/api/v1/buildings/${b.id}/announcements`,
      "POST",
      { title: "Later", body: "x", publishedAt: at.toISOString() },
      b.manager.auth,
    );
    expect(res.status).toBe(201);
    expect(await recorded(A)).toEqual([]);
    await publishDueAnnouncements(t.services, { now: new Date(at.getTime() + 1_000) });
    const events = await recorded(A);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: "announcement.published", data: { title: "Later" } });
  });

  it("maintenance: created, status changed (to both subscribers, one eventId), commented", async () => {
    b = await createBuilding(t.services);
    const base = `/api/v1/buildings/${b.id}/requests`;
    const res = await send(base, "POST", { title: "Leak in 12B", description: "kitchen" }, b.resident.auth);
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    const moved = await send(
      `${base}/${id}`,
      "PATCH",
      { status: "in_progress", assignedTo: b.manager.id },
      b.manager.auth,
    );
    expect(moved.status).toBe(200);
    const long = "ש".repeat(300) + "😀";
    expect((await send(`${base}/${id}/comments`, "POST", { body: long }, b.resident.auth)).status).toBe(201);
    const events = await recorded(A);
    expect(events.map((e) => e.type)).toEqual([
      "maintenance.created",
      "maintenance.status_changed",
      "maintenance.commented",
    ]);
    expect(events[0]!.data).toMatchObject({
      requestId: id,
      requesterId: b.resident.id,
      title: "Leak in 12B",
    });
    expect(events[1]!.data).toMatchObject({
      from: "open",
      to: "in_progress",
      assigneeId: b.manager.id,
      changedBy: b.manager.id,
    });
    const excerpt = (events[2]!.data as { excerpt: string }).excerpt;
    expect(Array.from(excerpt)).toHaveLength(280);
    const [status] = await recorded(B);
    expect(status!.eventId).toBe(events[1]!.eventId);
    // An edit that does not move the status is no status change.
    expect((await send(`${base}/${id}`, "PATCH", { title: "Leak (kitchen)" }, b.manager.auth)).status).toBe(
      200,
    );
    expect(await recorded(B)).toHaveLength(1);
  });

  it("a refused write records nothing", async () => {
    b = await createBuilding(t.services);
    const base = `/api/v1/buildings/${b.id}/requests`;
    const res = await send(base, "POST", { title: "x", description: "y" }, b.resident.auth);
    const { id } = (await res.json()) as { id: string };
    await t.services.database.db.execute(
      sql`delete from outbox where topic in (${A}, ${B}, ${FANOUT_TOPIC})`,
    );
    // open → resolved is not a transition.
    expect((await send(`${base}/${id}`, "PATCH", { status: "resolved" }, b.manager.auth)).status).toBe(409);
    expect(await recorded(A)).toEqual([]);
  });

  it("payments recorded (not dues), members joined and left", async () => {
    b = await createBuilding(t.services);
    const apartmentId = b.apartments[0]!.id;
    const pay = await send(
      `/api/v1/buildings/${b.id}/payments`,
      "POST",
      { kind: "payment", apartmentId, amountMinor: 125_000, description: "March" },
      b.manager.auth,
    );
    expect(pay.status).toBe(201);
    const due = await send(
      `/api/v1/buildings/${b.id}/payments`,
      "POST",
      { kind: "due", apartmentId, amountMinor: 125_000, dueDate: "2027-01-01", description: "April" },
      b.manager.auth,
    );
    expect(due.status).toBe(201);
    const invited = await send(
      `/api/v1/buildings/${b.id}/members`,
      "POST",
      { email: `new-${Date.now()}@example.com`, role: "resident", apartmentId: b.apartments[2]!.id },
      b.manager.auth,
    );
    expect(invited.status).toBe(201);
    const { member } = (await invited.json()) as { member: { id: string; userId: string } };
    const gone = await t.request(`/api/v1/buildings/${b.id}/members/${member.id}`, {
      method: "DELETE",
      headers: b.manager.auth,
    });
    expect(gone.status).toBeLessThan(300);
    const events = await recorded(A);
    expect(events.map((e) => e.type)).toEqual(["payment.recorded", "member.joined", "member.left"]);
    expect(events[0]!.data).toMatchObject({ amountMinor: 125_000, currency: "ILS", apartmentId });
    expect(events[1]!.data).toMatchObject({ invited: true, role: "resident", userId: member.userId });
    expect(events[2]!.data).toMatchObject({ memberId: member.id, userId: member.userId });
  });

  it("a lost sync edit: the loser, the field and both values", async () => {
    b = await createBuilding(t.services);
    const res = await send(
      `/api/v1/buildings/${b.id}/requests`,
      "POST",
      { title: "Door", description: "d" },
      b.resident.auth,
    );
    const { id } = (await res.json()) as { id: string };
    // The manager's REST edit is newer than the resident's offline edit (an old clock).
    expect(
      (
        await send(
          `/api/v1/buildings/${b.id}/requests/${id}`,
          "PATCH",
          { title: "Front door" },
          b.manager.auth,
        )
      ).status,
    ).toBe(200);
    await t.services.database.db.execute(
      sql`delete from outbox where topic in (${A}, ${B}, ${FANOUT_TOPIC})`,
    );
    const out = await push(
      t,
      b.resident,
      [
        {
          opId: opId(),
          type: "update",
          entity: "maintenance_requests",
          id,
          fields: { title: "Back door" },
          hlc: hlcAt(Date.now() - 3_600_000, "res-1"),
        },
      ],
      "res-1",
    );
    expect(out.status).toBe(200);
    const events = await recorded(A);
    expect(events.map((e) => e.type)).toEqual(["sync.conflict"]);
    expect(events[0]!.data).toMatchObject({
      userId: b.resident.id,
      entity: "maintenance_requests",
      rowId: id,
      field: "title",
      theirs: JSON.stringify("Back door"),
      winner: JSON.stringify("Front door"),
    });
  });

  it("offline edits are writes too: a sync batch records its events in one go", async () => {
    b = await createBuilding(t.services);
    const requestId = crypto.randomUUID();
    const announcementId = crypto.randomUUID();
    const now = Date.now();
    const created = await push(
      t,
      b.resident,
      [
        {
          opId: opId(),
          type: "create",
          entity: "maintenance_requests",
          id: requestId,
          fields: { buildingId: b.id, apartmentId: b.apartments[0]!.id, title: "Boiler" },
          hlc: hlcAt(now, "res-1"),
        },
        {
          opId: opId(),
          type: "create",
          entity: "request_comments",
          id: crypto.randomUUID(),
          fields: { buildingId: b.id, requestId, body: "no hot water since 7" },
          hlc: hlcAt(now + 1, "res-1"),
        },
      ],
      "res-1",
    );
    expect(created.body, JSON.stringify(created.body)).toHaveProperty("results");
    expect(created.body.results.map((r: { status: string }) => r.status)).toEqual(["applied", "applied"]);
    const moved = await push(
      t,
      b.manager,
      [
        {
          opId: opId(),
          type: "update",
          entity: "maintenance_requests",
          id: requestId,
          fields: { status: "in_progress" },
          hlc: hlcAt(now + 2, "mgr-1"),
        },
        {
          opId: opId(),
          type: "create",
          entity: "announcements",
          id: announcementId,
          fields: { buildingId: b.id, title: "Boiler fixed tonight", body: "…" },
          hlc: hlcAt(now + 3, "mgr-1"),
        },
      ],
      "mgr-1",
    );
    expect(moved.body, JSON.stringify(moved.body)).toHaveProperty("results");
    expect(moved.body.results.map((r: { status: string }) => r.status)).toEqual(["applied", "applied"]);
    // The batches' transactions wrote fan-out rows only; subscribers' rows come after commit.
    expect(await rowsOf(A)).toEqual([]);
    expect(await deliverPending(t, [FANOUT_TOPIC])).toHaveLength(2);
    const events = await recorded(A);
    expect(events.map((e) => e.type).sort()).toEqual([
      "announcement.published",
      "maintenance.commented",
      "maintenance.created",
      "maintenance.status_changed",
    ]);
    const byType = new Map(events.map((e) => [e.type, e]));
    expect(byType.get("maintenance.created")!.data).toMatchObject({ requestId, requesterId: b.resident.id });
    expect(byType.get("maintenance.commented")!.data).toMatchObject({
      requestId,
      title: "Boiler",
      excerpt: "no hot water since 7",
    });
    expect(byType.get("maintenance.status_changed")!.data).toMatchObject({
      from: "open",
      to: "in_progress",
      changedBy: b.manager.id,
    });
    expect(byType.get("announcement.published")!.data).toMatchObject({
      announcementId,
      authorId: b.manager.id,
    });
    expect((await recorded(B)).map((e) => e.type)).toEqual(["maintenance.status_changed"]);
  });

  it("a large sync batch: one fan-out row, then one row per subscriber per 100 events, in the batch's order, once", async () => {
    b = await createBuilding(t.services);
    const ids = Array.from({ length: DOMAIN_EVENT_BATCH_MAX + 30 }, () => crypto.randomUUID());
    const res = await push(t, b.manager, announcementCreates(b.id, ids, "mgr-big", "Notice"), "mgr-big");
    expect(res.body.results.every((r: { status: string }) => r.status === "applied")).toBe(true);
    // In the push's transaction: one fan-out row for the batch, whatever the number of subscribers.
    const [fanout, ...more] = await rowsOf(FANOUT_TOPIC);
    expect(more).toEqual([]);
    const batch = DomainEventFanoutSchema.parse(fanout!.payload);
    expect(batch).toMatchObject({ buildingId: b.id, actorId: b.manager.id });
    expect(batch.events.map((e) => (e.data as { announcementId: string }).announcementId)).toEqual(ids);
    expect(await rowsOf(A)).toEqual([]);

    const [fanoutId] = await deliverPending(t, [FANOUT_TOPIC]);
    const rows = await rowsOf(A);
    const sizes = rows
      .map((r) => envelopesOf(DomainEventPayloadSchema.parse(r.payload)).length)
      .sort((x, y) => y - x);
    expect(sizes).toEqual([DOMAIN_EVENT_BATCH_MAX, 30]);
    // Each row keeps the batch's order (rows of one insert share created_at: compare their sets).
    const position = new Map(batch.events.map((e, i) => [e.eventId, i]));
    for (const row of rows) {
      const at = envelopesOf(DomainEventPayloadSchema.parse(row.payload)).map(
        (e) => position.get((e as DomainEventEnvelope).eventId)!,
      );
      expect(at).toEqual([...at].sort((x, y) => x - y));
    }
    const byId = <E extends { eventId: string }>(xs: E[]) =>
      [...xs].sort((x, y) => x.eventId.localeCompare(y.eventId));
    const events = byId(await recorded(A));
    expect(events.map((e) => e.eventId)).toEqual([...position.keys()].sort());
    expect(events.map((e) => (e.data as { announcementId: string }).announcementId).sort()).toEqual(
      [...ids].sort(),
    );
    for (const e of events) {
      expect(e).toMatchObject({ buildingId: b.id, actorId: b.manager.id, occurredAt: batch.occurredAt });
      expect(e.correlation, "the fan-out keeps the push's correlation id").toBe(fanout!.correlation_id);
    }
    // B wants status changes only: none here, so no row at all.
    expect(await rowsOf(B)).toEqual([]);

    // A redelivered fan-out row (a lost acknowledgement) writes nothing twice.
    await t.services.database.db.execute(sql`update outbox set dispatched_at = null where id = ${fanoutId}`);
    expect(await deliverPending(t, [FANOUT_TOPIC])).toEqual([fanoutId]);
    expect(byId(await recorded(A))).toEqual(events);
  });

  it("a lone surrogate in a comment becomes U+FFFD in the event, as in the row, instead of failing the write", async () => {
    b = await createBuilding(t.services);
    const base = `/api/v1/buildings/${b.id}/requests`;
    const res = await send(base, "POST", { title: "Tap \ud83d drips", description: "x" }, b.resident.auth);
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    const comment = await send(
      `${base}/${id}/comments`,
      "POST",
      { body: "half \udc00 a pair, whole 😀" },
      b.resident.auth,
    );
    expect(comment.status).toBe(201);
    const events = await recorded(A);
    expect(events.map((e) => e.type)).toEqual(["maintenance.created", "maintenance.commented"]);
    expect(events[0]!.data).toMatchObject({ title: "Tap \ufffd drips" });
    expect(events[1]!.data).toMatchObject({ excerpt: "half \ufffd a pair, whole 😀" });
  });
});
