/**
 * API change control for one served version: the served OpenAPI document must not break the
 * checked-in snapshot (openapi/<version>.json), and a snapshot that breaks the base branch's
 * snapshot must come with a CHANGELOG.md change in the same change. Breaking = what the real
 * diff tool (api-smart-diff) classifies as breaking: a removed operation or response field, a
 * narrowed type, a new required input, ...
 */
import { apiCompare } from "api-smart-diff";
import { type OpenApiDoc, stableJson } from "./document";

export interface ApiChange {
  type: string;
  action: string;
  path: string;
  description: string;
}

export function apiChanges(before: OpenApiDoc, after: OpenApiDoc): ApiChange[] {
  if (stableJson(before) === stableJson(after)) return [];
  // apiCompare rewrites its inputs in place (it merges allOf while it resolves): give it copies.
  const { diffs } = apiCompare(structuredClone(before), structuredClone(after));
  return diffs.map((d) => ({
    type: String(d.type),
    action: String(d.action),
    path: d.path.join("/"),
    description: d.description ?? `${d.action} ${d.path.join("/")}`,
  }));
}

/**
 * Breaking changes as clients meet them: under `paths/`, where the tool has resolved every $ref
 * into the operation that uses it and knows request from response. Its entries under
 * `components/` classify a schema without that context (a new required property reads as
 * breaking even in a response, where it is additive) and repeat what the operations show.
 */
export const breakingOnly = (changes: ApiChange[]) =>
  changes.filter((c) => c.type === "breaking" && c.path.startsWith("paths/"));

export interface GateInput {
  version: string;
  /** The document the code serves now. */
  current: OpenApiDoc;
  /** openapi/<version>.json in this change (null: none checked in). */
  snapshot: OpenApiDoc | null;
  /** The same file on the base branch (null: the version is new there). */
  baseSnapshot: OpenApiDoc | null;
  /** CHANGELOG.md differs from the base branch. */
  changelogChanged: boolean;
}

export interface GateResult {
  ok: boolean;
  problems: string[];
  notes: string[];
}

const list = (changes: ApiChange[], max = 20) =>
  changes
    .slice(0, max)
    .map((c) => `    - ${c.description} (${c.path})`)
    .concat(changes.length > max ? [`    - ... and ${changes.length - max} more`] : [])
    .join("\n");

export function gate(input: GateInput): GateResult {
  const { version } = input;
  const file = `openapi/${version}.json`;
  const problems: string[] = [];
  const notes: string[] = [];
  if (!input.snapshot) {
    problems.push(`${version}: no snapshot ${file}: run \`npm run api:snapshot\` and commit it`);
    return { ok: false, problems, notes };
  }
  const drift = apiChanges(input.snapshot, input.current);
  const breaking = breakingOnly(drift);
  if (breaking.length)
    problems.push(
      `${version}: the served API breaks ${file} (${breaking.length} breaking change(s)):\n${list(breaking)}\n  ` +
        "A breaking change inside a served version needs the snapshot refreshed (`npm run api:snapshot`) " +
        "and a CHANGELOG.md entry in the same change (or a new API version).",
    );
  else if (drift.length)
    notes.push(
      `${version}: ${drift.length} additive change(s) not yet in ${file}: run \`npm run api:snapshot\``,
    );

  if (input.baseSnapshot) {
    const accepted = breakingOnly(apiChanges(input.baseSnapshot, input.snapshot));
    if (accepted.length && !input.changelogChanged)
      problems.push(
        `${version}: ${file} takes ${accepted.length} breaking change(s) against the base branch without a CHANGELOG.md entry:\n${list(accepted)}`,
      );
    else if (accepted.length)
      notes.push(`${version}: ${accepted.length} breaking change(s) accepted with a CHANGELOG.md entry`);
  }
  return { ok: problems.length === 0, problems, notes };
}
