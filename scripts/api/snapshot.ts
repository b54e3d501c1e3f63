/**
 * `npm run api:snapshot`: writes the served OpenAPI document of each API version to
 * openapi/<version>.json (keys sorted, so diffs show only changes) and CHANGELOG.md to the module
 * the API serves it from. Run it after a deliberate API change and commit both with CHANGELOG.md.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { changelogModule, parseChangelog } from "./changelog";
import { perVersion, servedDocument, stableJson } from "./document";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const CHANGELOG_DATA = "src/modules/meta/changelog-data.ts";

export function writeChangelogData(root = ROOT): void {
  const releases = parseChangelog(readFileSync(`${root}CHANGELOG.md`, "utf8"));
  writeFileSync(`${root}${CHANGELOG_DATA}`, changelogModule(releases));
  spawnSync(`${root}node_modules/.bin/biome`, ["format", "--write", CHANGELOG_DATA], {
    cwd: root,
    stdio: "ignore",
  });
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, "/"))) {
  writeChangelogData();
  const docs = perVersion(await servedDocument());
  mkdirSync(`${ROOT}openapi`, { recursive: true });
  for (const [version, doc] of Object.entries(docs)) {
    writeFileSync(`${ROOT}openapi/${version}.json`, stableJson(doc));
    console.log(`openapi/${version}.json: ${Object.keys(doc.paths).length} paths`);
  }
  console.log(`${CHANGELOG_DATA}: from CHANGELOG.md`);
}
