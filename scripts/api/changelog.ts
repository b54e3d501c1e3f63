/**
 * CHANGELOG.md (Keep a Changelog 1.1.0) parsed into releases, strictly: a heading or section the
 * format does not know is an error, so the file the API serves stays in that shape. The result is
 * written to src/modules/meta/changelog-data.ts by `npm run api:snapshot`, because the Worker
 * cannot read files at run time; a test holds the two equal.
 */
export const CHANGE_KINDS = ["Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"] as const;
export type ChangeKind = (typeof CHANGE_KINDS)[number];

export interface Release {
  /** "Unreleased" or a semantic version. */
  version: string;
  /** ISO date (YYYY-MM-DD), null for Unreleased. */
  date: string | null;
  changes: Partial<Record<ChangeKind, string[]>>;
}

export function parseChangelog(md: string): Release[] {
  const releases: Release[] = [];
  let release: Release | undefined;
  let kind: ChangeKind | undefined;
  let item: string[] | undefined;
  const flush = () => {
    if (item && release && kind)
      release.changes[kind] = [...(release.changes[kind] ?? []), item.join(" ").trim()];
    item = undefined;
  };
  md.split("\n").forEach((line, i) => {
    const where = `CHANGELOG.md:${i + 1}`;
    const heading = /^## \[([^\]]+)\](?: - (\d{4}-\d{2}-\d{2}))?\s*$/.exec(line);
    const section = /^### (.+?)\s*$/.exec(line);
    const entry = /^- (.*)$/.exec(line);
    if (heading) {
      flush();
      const [, version, date] = heading;
      if (version !== "Unreleased" && !/^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/.test(version!))
        throw new Error(`${where}: "${version}" is not Unreleased or a semantic version`);
      if (version === "Unreleased" ? date : !date)
        throw new Error(`${where}: a release has a date, Unreleased none`);
      release = { version: version!, date: date ?? null, changes: {} };
      releases.push(release);
      kind = undefined;
    } else if (line.startsWith("## ")) {
      throw new Error(`${where}: a release heading is "## [version] - YYYY-MM-DD" or "## [Unreleased]"`);
    } else if (section) {
      flush();
      if (!release) throw new Error(`${where}: a section outside any release`);
      if (!(CHANGE_KINDS as readonly string[]).includes(section[1]!))
        throw new Error(`${where}: "${section[1]}" is not one of ${CHANGE_KINDS.join(", ")}`);
      kind = section[1] as ChangeKind;
    } else if (entry) {
      flush();
      if (!kind) throw new Error(`${where}: an entry outside any section`);
      item = [entry[1]!];
    } else if (item && /^\s+\S/.test(line)) {
      item.push(line.trim());
    } else if (line.trim() === "") {
      flush();
    } else if (release) {
      throw new Error(`${where}: unexpected line inside a release: ${line}`);
    }
  });
  flush();
  const versions = releases.map((r) => r.version);
  if (new Set(versions).size !== versions.length) throw new Error("CHANGELOG.md: a version appears twice");
  return releases;
}

/** The TypeScript module the API serves from. */
export function changelogModule(releases: Release[]): string {
  return [
    "// Generated from CHANGELOG.md by `npm run api:snapshot` (scripts/api/changelog.ts). Do not edit.",
    'import type { ChangelogRelease } from "./changelog-types";',
    "",
    `export const CHANGELOG: ChangelogRelease[] = ${JSON.stringify(releases, null, 2)};`,
    "",
  ].join("\n");
}
