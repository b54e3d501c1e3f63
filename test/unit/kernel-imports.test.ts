/**
 * The kernel stays host-neutral: src/services.ts imports no feature module and no adapter (hosts
 * build their defaults, so hash-wasm and rate-limiter-flexible never reach the Worker bundle this
 * way), and the realtime publisher reaches the buildings cache only through an after-commit hook.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const src = (path: string) => readFileSync(join(__dirname, "../../src", path), "utf8");
const specifiers = (text: string) =>
  [...text.matchAll(/^import\b[^;]*?from "([^"]+)";/gms)].map((m) => m[1]!);

describe("kernel imports", () => {
  it("src/services.ts imports no feature module and no adapter", () => {
    const specs = specifiers(src("services.ts"));
    expect(specs.length).toBeGreaterThan(0);
    for (const spec of specs) {
      expect(spec).not.toMatch(/\/modules\//);
      // Ports (platform/<port>/index) and the cache helper only, never platform/<port>/<adapter>.
      expect(spec).not.toMatch(/platform\/[^/]+\/[^/]+$/);
    }
  });

  it("the realtime publisher does not import the buildings module", () => {
    for (const spec of specifiers(src("modules/realtime/publish.ts"))) expect(spec).not.toMatch(/buildings/);
  });
});
