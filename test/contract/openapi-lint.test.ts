/**
 * The served OpenAPI document passes a real linter: Redocly CLI with its `recommended` rules,
 * 0 errors (issue 14, "The API contract"). The document is the one /openapi.json serves, written
 * to a temporary file; warnings are printed, not failed (today: no license, and ClientFrame,
 * which only the WebSocket rooms use, is referenced by no operation).
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, type TestApp } from "../support/app";

const REDOCLY = fileURLToPath(new URL("../../node_modules/.bin/redocly", import.meta.url));

interface LintProblem {
  ruleId: string;
  severity: "error" | "warn";
  message: string;
  location: Array<{ pointer: string }>;
}

describe("the OpenAPI document under Redocly's recommended rules", () => {
  let t: TestApp;
  let dir: string;
  beforeAll(async () => {
    t = await createTestApp({ db: "pg", env: { API_VERSIONS: "v1,v2" } });
    dir = mkdtempSync(join(tmpdir(), "horizon-openapi-"));
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await t.close();
  });

  async function lint(doc: unknown): Promise<LintProblem[]> {
    const file = join(dir, `openapi-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(file, JSON.stringify(doc));
    // Exit code 1 means "errors found"; the JSON report on stdout says which.
    const { stdout } = await promisify(execFile)(
      REDOCLY,
      ["lint", file, "--extends", "recommended", "--format", "json", "--max-problems", "10000"],
      {
        cwd: dir,
        maxBuffer: 64 * 1024 * 1024,
        env: { ...process.env, REDOCLY_TELEMETRY: "off", NO_COLOR: "1" },
      },
    ).catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? "" }));
    return (JSON.parse(stdout) as { problems: LintProblem[] }).problems;
  }

  const describeProblems = (problems: LintProblem[]) =>
    problems.map((p) => `${p.ruleId} ${p.location[0]?.pointer}: ${p.message}`).join("\n");

  it("the served document (v1 and v2 mounted) has 0 errors", async () => {
    const doc = await (await t.request("/openapi.json")).json();
    expect(Object.keys(doc.paths).some((p) => p.startsWith("/api/v2/"))).toBe(true);
    const problems = await lint(doc);
    const errors = problems.filter((p) => p.severity === "error");
    const warnings = problems.filter((p) => p.severity !== "error");
    if (warnings.length) console.info(`redocly warnings:\n${describeProblems(warnings)}`);
    expect(errors, describeProblems(errors)).toEqual([]);
  }, 120_000);

  it("the linter sees what it claims: a public operation without security is an error", async () => {
    const doc = await (await t.request("/openapi.json")).json();
    delete doc.paths["/api/v1/auth/login"].post.security;
    const errors = (await lint(doc)).filter((p) => p.severity === "error");
    expect(errors.map((p) => p.ruleId)).toContain("security-defined");
  }, 120_000);
});
