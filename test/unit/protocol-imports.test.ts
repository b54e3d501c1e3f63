/**
 * The client SDK shares the wire protocol with the server (src/protocol/) but must not pull the
 * server's zod schemas into its bundle: from the realtime protocol it imports types only, and
 * nothing under src/client reaches into server modules for wire shapes.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = join(dir, name);
    return statSync(file).isDirectory() ? sources(file) : file.endsWith(".ts") ? [file] : [];
  });
}

const clientDir = join(__dirname, "../../src/client");
const importsOf = (src: string) => [...src.matchAll(/^(?:import|export)\b[^;]*?from "([^"]+)";/gms)];

describe("client SDK protocol imports", () => {
  it("take the realtime protocol as types only, and no wire shape from server modules", () => {
    let realtimeImports = 0;
    for (const file of sources(clientDir)) {
      for (const m of importsOf(readFileSync(file, "utf8"))) {
        const [statement, spec] = [m[0], m[1]!];
        expect(spec, file).not.toMatch(/\/modules\//);
        if (spec.endsWith("/protocol/realtime")) {
          realtimeImports++;
          expect(statement, file).toMatch(/^(?:import|export) type\b/);
        }
      }
    }
    expect(realtimeImports).toBeGreaterThan(0);
  });
});
