/**
 * API change control (issue 20 §5): the served document of each version against its checked-in
 * snapshot (openapi/<version>.json) with a real OpenAPI diff tool (api-smart-diff), breaking
 * edits of a route caught unless the snapshot and CHANGELOG.md change with them, and the
 * changelog (Keep a Changelog) served by the API.
 */
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseChangelog } from "../../scripts/api/changelog";
import { type OpenApiDoc, perVersion, servedDocument, stableJson } from "../../scripts/api/document";
import { apiChanges, breakingOnly, gate } from "../../scripts/api/gate";
import { CHANGELOG } from "../../src/modules/meta/changelog-data";
import { createTestApp, type TestApp } from "../support/app";

const ROOT = new URL("../../", import.meta.url);
const read = (path: string) => readFileSync(new URL(path, ROOT), "utf8");

describe("CHANGELOG.md and the route that serves it", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ db: "pglite" });
  });
  afterAll(() => t?.close());

  it("follows Keep a Changelog, and the module the API serves is generated from it", () => {
    const releases = parseChangelog(read("CHANGELOG.md"));
    expect(releases[0]?.version).toBe("Unreleased");
    expect(releases.slice(1).every((r) => /^\d{4}-\d{2}-\d{2}$/.test(r.date ?? ""))).toBe(true);
    // Stale module = CHANGELOG.md edited without `npm run api:snapshot`.
    expect(CHANGELOG).toEqual(releases);
  });

  it("rejects what the format does not know", () => {
    expect(() => parseChangelog("## [Unreleased]\n### Improved\n- x\n")).toThrow(/not one of Added/);
    expect(() => parseChangelog("## [1.0] - 2026-01-01\n")).toThrow(/semantic version/);
    expect(() => parseChangelog("## [1.0.0]\n")).toThrow(/has a date/);
    expect(() => parseChangelog("## [Unreleased]\n- orphan\n")).toThrow(/outside any section/);
    expect(
      parseChangelog(
        "## [Unreleased]\n\n### Fixed\n\n- one\n  continued\n- two\n\n## [1.0.0] - 2026-01-02\n",
      ),
    ).toEqual([
      { version: "Unreleased", date: null, changes: { Fixed: ["one continued", "two"] } },
      { version: "1.0.0", date: "2026-01-02", changes: {} },
    ]);
  });

  it("GET /api/v1/meta/changelog serves it, public and cacheable", async () => {
    const res = await t.request("/api/v1/meta/changelog");
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toMatch(/public/);
    expect(await res.json()).toEqual({ format: "keep-a-changelog/1.1.0", data: CHANGELOG });
  });
});

describe("the served OpenAPI document against its snapshots", () => {
  let served: Record<string, OpenApiDoc>;
  beforeAll(async () => {
    served = perVersion(await servedDocument());
  }, 400_000);

  it("every served version has a snapshot, and the served API breaks none of them", () => {
    expect(Object.keys(served)).toContain("v1");
    for (const [version, current] of Object.entries(served)) {
      const snapshot = JSON.parse(read(`openapi/${version}.json`)) as OpenApiDoc;
      const result = gate({ version, current, snapshot, baseSnapshot: null, changelogChanged: false });
      for (const note of result.notes) console.log(note);
      expect(result.problems).toEqual([]);
    }
  }, 400_000);

  describe("planted breaking edits of a route (on a few routes of v1, so the diff stays quick)", () => {
    let before: OpenApiDoc;
    beforeAll(() => {
      const v1 = served.v1!;
      const keep = ["/api/v1/auth/login", "/api/v1/me", "/api/v1/meta/versions", "/health/ready"];
      before = { ...v1, paths: Object.fromEntries(keep.map((p) => [p, v1.paths[p]])) };
      for (const p of keep) expect(before.paths[p], p).toBeDefined();
      beforeJson = stableJson(before);
    });
    const edit = (fn: (d: any) => void): OpenApiDoc => {
      const d = structuredClone(before);
      fn(d);
      return d;
    };
    // A response field removed from the login response (the Tokens schema it references).
    let beforeJson: string;
    const withoutField = () =>
      edit((d) => {
        const tokens = d.components.schemas.Tokens;
        delete tokens.properties.expiresIn;
        tokens.required = tokens.required.filter((f: string) => f !== "expiresIn");
      });

    it("a removed response field is breaking, and fails the gate until snapshot and CHANGELOG.md change", () => {
      const after = withoutField();
      const breaking = breakingOnly(apiChanges(before, after));
      expect(breaking.map((c) => c.path).join("\n")).toMatch(
        /\/api\/v1\/auth\/login\/post\/responses\/200.*expiresIn/,
      );

      // The code changed, the snapshot did not.
      const stale = gate({
        version: "v1",
        current: after,
        snapshot: before,
        baseSnapshot: before,
        changelogChanged: true,
      });
      expect(stale.ok).toBe(false);
      expect(stale.problems[0]).toMatch(/the served API breaks openapi\/v1\.json/);
      // Snapshot refreshed, no CHANGELOG.md entry.
      const noEntry = gate({
        version: "v1",
        current: after,
        snapshot: after,
        baseSnapshot: before,
        changelogChanged: false,
      });
      expect(noEntry.ok).toBe(false);
      expect(noEntry.problems[0]).toMatch(/without a CHANGELOG\.md entry/);
      // Both in the same change.
      const both = gate({
        version: "v1",
        current: after,
        snapshot: after,
        baseSnapshot: before,
        changelogChanged: true,
      });
      expect(both).toMatchObject({ ok: true, problems: [] });
      expect(both.notes[0]).toMatch(/accepted with a CHANGELOG\.md entry/);
      // The diff tool rewrites what it is given (it merges allOf); the gate hands it copies.
      expect(stableJson(before)).toBe(beforeJson);
    }, 300_000);

    it("a removed route, a narrowed type and a new required input are breaking", () => {
      const removed = edit((d) => {
        delete d.paths["/api/v1/me"];
      });
      expect(breakingOnly(apiChanges(before, removed)).length).toBeGreaterThan(0);
      const narrowed = edit((d) => {
        d.components.schemas.LoginRequest.properties.email = { type: "integer" };
      });
      expect(breakingOnly(apiChanges(before, narrowed)).length).toBeGreaterThan(0);
      const requiredInput = edit((d) => {
        const get = d.paths["/api/v1/meta/versions"].get;
        get.parameters = [
          ...(get.parameters ?? []),
          { name: "scope", in: "query", required: true, schema: { type: "string" } },
        ];
      });
      expect(breakingOnly(apiChanges(before, requiredInput)).length).toBeGreaterThan(0);
    }, 300_000);

    it("an added route or response field is not breaking: the gate passes and asks for a snapshot refresh", () => {
      const added = edit((d) => {
        d.paths["/api/v1/meta/extra"] = {
          get: { operationId: "extra", responses: { 200: { description: "ok" } } },
        };
        // A new required field in a response: clients that ignore unknown fields are unaffected.
        d.components.schemas.Tokens.properties.scope = { type: "string" };
        d.components.schemas.Tokens.required.push("scope");
      });
      expect(breakingOnly(apiChanges(before, added))).toEqual([]);
      const r = gate({
        version: "v1",
        current: added,
        snapshot: before,
        baseSnapshot: before,
        changelogChanged: false,
      });
      expect(r.ok).toBe(true);
      expect(r.notes[0]).toMatch(/additive change\(s\) not yet in openapi\/v1\.json/);
    }, 300_000);
  });
});
