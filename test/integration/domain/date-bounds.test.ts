/**
 * Issue 14, defect 3 (REST): every date a client can send is range-checked. `0000-01-01` is valid
 * ISO 8601 and a valid JS Date, but PostgreSQL refuses year 0 ("date/time field value out of
 * range"), so before the bound these inputs answered 500. Each answers 400 with the allowed range
 * in the field error, and the bounds themselves are accepted.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_DATE, MIN_DATE } from "../../../src/http/dates";
import { createTestApp, type TestApp } from "../../support/app";
import { DB_KINDS } from "../../support/db";
import { createBuilding, type TestBuilding } from "../../support/fixtures";
import { call, type Reply } from "./helpers";

const OUT_OF_RANGE_INSTANTS = [
  "0000-01-01T00:00:00Z",
  "0000-12-31T23:59:59.999+00:00",
  "0001-01-01T00:00:00+14:00",
  "1899-12-31T23:59:59Z",
  "1900-01-01T00:30:00+01:00",
];
const OUT_OF_RANGE_DATES = ["0000-01-01", "0000-02-29", "1899-12-31"];

function expectRangeError(res: Reply, path: string) {
  expect(res.status, JSON.stringify(res.body)).toBe(400);
  expect(res.body.code).toBe("VALIDATION_FAILED");
  expect(res.body.correlationId).toBeTruthy();
  const field = res.body.errors.find((e: { path: string }) => e.path === path);
  expect(field, JSON.stringify(res.body.errors)).toBeDefined();
  expect(field.message).toContain(MIN_DATE);
  expect(field.message).toContain(MAX_DATE);
}

describe.each(DB_KINDS)("date inputs are bounded on %s", (kind) => {
  let t: TestApp;
  let b: TestBuilding;
  beforeAll(async () => {
    t = await createTestApp({ db: kind });
    b = await createBuilding(t.services);
  });
  afterAll(() => t.close());

  const announcement = () =>
    call(t, "POST", `/buildings/${b.id}/announcements`, b.manager, { title: "Water", body: "Off at 10" });
  const payment = () =>
    call(t, "POST", `/buildings/${b.id}/payments`, b.manager, {
      apartmentId: b.apartments[0]!.id,
      kind: "due",
      amountMinor: 100,
      dueDate: "2026-07-01",
    });

  it("announcements: publishedAt on POST and PATCH", async () => {
    const created = await announcement();
    expect(created.status).toBe(201);
    for (const publishedAt of OUT_OF_RANGE_INSTANTS) {
      const post = await call(t, "POST", `/buildings/${b.id}/announcements`, b.manager, {
        title: "t",
        body: "b",
        publishedAt,
      });
      expectRangeError(post, "json.publishedAt");
      const patch = await call(t, "PATCH", `/buildings/${b.id}/announcements/${created.body.id}`, b.manager, {
        publishedAt,
      });
      expectRangeError(patch, "json.publishedAt");
    }
    for (const publishedAt of [`${MIN_DATE}T00:00:00Z`, `${MAX_DATE}T23:59:59.999Z`]) {
      const ok = await call(t, "POST", `/buildings/${b.id}/announcements`, b.manager, {
        title: "t",
        body: "b",
        publishedAt,
      });
      expect(ok.status, JSON.stringify(ok.body)).toBe(201);
      expect(ok.body.publishedAt).toBe(new Date(publishedAt).toISOString());
    }
  });

  it("payments: paidAt and dueDate on POST and PATCH", async () => {
    const created = await payment();
    expect(created.status).toBe(201);
    const apartmentId = b.apartments[0]!.id;
    for (const paidAt of OUT_OF_RANGE_INSTANTS) {
      const post = await call(t, "POST", `/buildings/${b.id}/payments`, b.manager, {
        apartmentId,
        kind: "payment",
        amountMinor: 100,
        paidAt,
      });
      expectRangeError(post, "json.paidAt");
      const patch = await call(t, "PATCH", `/buildings/${b.id}/payments/${created.body.id}`, b.manager, {
        paidAt,
      });
      expectRangeError(patch, "json.paidAt");
    }
    for (const dueDate of OUT_OF_RANGE_DATES) {
      const post = await call(t, "POST", `/buildings/${b.id}/payments`, b.manager, {
        apartmentId,
        kind: "due",
        amountMinor: 100,
        dueDate,
      });
      expectRangeError(post, "json.dueDate");
      const patch = await call(t, "PATCH", `/buildings/${b.id}/payments/${created.body.id}`, b.manager, {
        dueDate,
      });
      expectRangeError(patch, "json.dueDate");
    }
    const edge = await call(t, "POST", `/buildings/${b.id}/payments`, b.manager, {
      apartmentId,
      kind: "due",
      amountMinor: 100,
      dueDate: MAX_DATE,
    });
    expect(edge.status, JSON.stringify(edge.body)).toBe(201);
    expect(edge.body.dueDate).toBe(MAX_DATE);
    const paid = await call(t, "POST", `/buildings/${b.id}/payments`, b.manager, {
      apartmentId,
      kind: "payment",
      amountMinor: 100,
      paidAt: `${MIN_DATE}T00:00:00Z`,
    });
    expect(paid.status, JSON.stringify(paid.body)).toBe(201);
    expect(paid.body.paidAt).toBe(`${MIN_DATE}T00:00:00.000Z`);
    const patched = await call(t, "PATCH", `/buildings/${b.id}/payments/${created.body.id}`, b.manager, {
      dueDate: MIN_DATE,
    });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect(patched.body.dueDate).toBe(MIN_DATE);
  });

  it("audit: the from and to filters", async () => {
    for (const name of ["from", "to"]) {
      for (const value of OUT_OF_RANGE_INSTANTS) {
        const res = await call(
          t,
          "GET",
          `/buildings/${b.id}/audit?${name}=${encodeURIComponent(value)}`,
          b.manager,
        );
        expectRangeError(res, `query.${name}`);
      }
    }
    const ok = await call(
      t,
      "GET",
      `/buildings/${b.id}/audit?from=${MIN_DATE}T00:00:00Z&to=${MAX_DATE}T23:59:59Z`,
      b.manager,
    );
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
  });
});
