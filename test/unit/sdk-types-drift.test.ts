/**
 * The SDK's REST types (src/client/api/schema.ts) are generated from the OpenAPI document the
 * server serves; this test generates them again and fails when the checked-in file differs, so a
 * route change that forgot `npx tsx src/client/scripts/gen-types.ts` cannot ship a stale SDK.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { generateTypes, SCHEMA_FILE } from "../../src/client/scripts/gen-types";
import { servedDocument } from "../../src/client/scripts/served-document";

describe("SDK REST types", () => {
  it("match the served OpenAPI document (else run: npx tsx src/client/scripts/gen-types.ts)", async () => {
    const expected = await generateTypes(await servedDocument());
    const current = readFileSync(SCHEMA_FILE, "utf8");
    // A line diff keeps the failure readable (the file has ~9k lines).
    const a = current.split("\n");
    const b = expected.split("\n");
    const first = a.findIndex((line, i) => line !== b[i]);
    expect(
      first === -1 && a.length === b.length
        ? null
        : { line: first + 1, checkedIn: a[first], served: b[first] },
    ).toBeNull();
  });
});
