/**
 * `npm run api:check [-- --base <git ref>]`: API change control (gate.ts) for every served
 * version against openapi/<version>.json and the base branch (default origin/main, else HEAD).
 * Exit 1 naming each breaking change that lacks a snapshot and CHANGELOG.md update.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { type OpenApiDoc, perVersion, servedDocument } from "./document";
import { gate } from "./gate";
import { ROOT } from "./snapshot";

const git = (...args: string[]) => spawnSync("git", args, { cwd: ROOT, encoding: "utf8" });

function baseRef(requested?: string): string {
  for (const ref of [requested, "origin/main", "HEAD"]) {
    if (ref && git("rev-parse", "--verify", "--quiet", `${ref}^{commit}`).status === 0) return ref;
  }
  throw new Error("no base commit to compare with");
}

function atBase(ref: string, path: string): OpenApiDoc | null {
  const r = git("show", `${ref}:${path}`);
  return r.status === 0 ? (JSON.parse(r.stdout) as OpenApiDoc) : null;
}

const { values } = parseArgs({ options: { base: { type: "string" } } });
const base = baseRef(values.base);
const changelogChanged = git("diff", "--quiet", base, "--", "CHANGELOG.md").status === 1;
const served = perVersion(await servedDocument());
const problems: string[] = [];
for (const [version, current] of Object.entries(served)) {
  const file = `openapi/${version}.json`;
  const snapshot = existsSync(`${ROOT}${file}`)
    ? (JSON.parse(readFileSync(`${ROOT}${file}`, "utf8")) as OpenApiDoc)
    : null;
  const result = gate({ version, current, snapshot, baseSnapshot: atBase(base, file), changelogChanged });
  for (const n of result.notes) console.log(n);
  problems.push(...result.problems);
  if (result.ok) console.log(`${version}: no unrecorded breaking change (base ${base})`);
}
// A served version that disappears is the largest breaking change of all.
for (const f of existsSync(`${ROOT}openapi`) ? readdirSync(`${ROOT}openapi`) : []) {
  const version = f.replace(/\.json$/, "");
  if (!served[version] && !changelogChanged)
    problems.push(
      `${version}: openapi/${f} exists but ${version} is no longer served, and CHANGELOG.md did not change`,
    );
}
for (const p of problems) console.error(p);
process.exit(problems.length ? 1 : 0);
