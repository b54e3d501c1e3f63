/**
 * The client SDK (the @horizon/client package, src/client) shares the wire protocol with the
 * server (src/protocol/) but must not pull server code or zod into an app: it takes the room
 * frames from the zod-free protocol/realtime-frames (types only), never protocol/realtime (the
 * zod schemas), nothing from server folders, and no package but its own dependencies.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = join(dir, name);
    if (name === "node_modules" || name === "dist" || name === "scripts") return [];
    return statSync(file).isDirectory() ? sources(file) : /\.(ts|mts)$/.test(file) ? [file] : [];
  });
}

const clientDir = join(__dirname, "../../src/client");
const importsOf = (src: string) => [...src.matchAll(/^(?:import|export)\b[^;]*?from "([^"]+)";/gms)];
const pkg = JSON.parse(readFileSync(join(clientDir, "package.json"), "utf8")) as {
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
};

describe("client SDK protocol imports", () => {
  it("take the room frames as types only from the zod-free module, and nothing from server code", () => {
    let frameImports = 0;
    for (const file of sources(clientDir)) {
      for (const m of importsOf(readFileSync(file, "utf8"))) {
        const [statement, spec] = [m[0], m[1]!];
        expect(spec, file).not.toMatch(/\/(modules|http|platform|db)\//);
        expect(spec, file).not.toMatch(/\/protocol\/(realtime|events)$/);
        if (spec.endsWith("/protocol/realtime-frames")) {
          frameImports++;
          expect(statement, file).toMatch(/^(?:import|export) type\b/);
        }
        if (!spec.startsWith(".") && !spec.startsWith("node:")) {
          const name = spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0]!;
          expect(
            name in pkg.dependencies || name in pkg.peerDependencies,
            `${file} imports ${name}, not a dependency of the package`,
          ).toBe(true);
        }
      }
    }
    expect(frameImports).toBeGreaterThan(0);
  });
});
