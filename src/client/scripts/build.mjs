/**
 * Builds the package into dist/: ESM bundles per entry with shared chunks (esbuild; the
 * dependencies stay external), then type declarations (typescript 5 of this workspace,
 * declarations only, rooted at src/ so the shared protocol types come along). Run from anywhere:
 *   node src/client/scripts/build.mjs      (npm pack runs it as `prepack`)
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
rmSync(join(root, "dist"), { recursive: true, force: true });

export const ENTRIES = {
  index: "index.ts",
  sync: "sync/index.ts",
  realtime: "realtime/index.ts",
  uploads: "uploads/index.ts",
  "storage/memory": "storage/memory.ts",
  "storage/indexeddb": "storage/indexeddb.ts",
  "storage/file": "storage/file.ts",
  "storage/react-native": "storage/react-native.ts",
  "node-websocket": "node-websocket.ts",
};

await build({
  absWorkingDir: root,
  entryPoints: Object.fromEntries(Object.entries(ENTRIES).map(([out, src]) => [out, join(root, src)])),
  outdir: join(root, "dist"),
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "neutral",
  target: "es2022",
  chunkNames: "chunks/[name]-[hash]",
  external: ["openapi-fetch", "partysocket", "ws", "node:*"],
  logLevel: "warning",
});

const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc", { paths: [root] });
execFileSync(process.execPath, [tsc, "-p", join(root, "tsconfig.build.json")], { stdio: ["ignore", 2, 2] });
// The sources import without extensions (bundler resolution); Node's ESM resolution, which
// TypeScript applies to a package under "moduleResolution": "nodenext", needs them written out,
// or every import in the declarations silently becomes `any`.
function addExtensions(dir) {
  for (const name of readdirSync(dir)) {
    const file = join(dir, name);
    if (statSync(file).isDirectory()) {
      addExtensions(file);
      continue;
    }
    if (!file.endsWith(".d.ts")) continue;
    const text = readFileSync(file, "utf8").replace(
      /(from\s+|import\()(["'])(\.{1,2}\/[^"']*)\2/g,
      (all, lead, q, spec) => {
        const target = resolve(dirname(file), spec);
        if (existsSync(`${target}.d.ts`)) return `${lead}${q}${spec}.js${q}`;
        if (existsSync(join(target, "index.d.ts"))) return `${lead}${q}${spec}/index.js${q}`;
        return all;
      },
    );
    writeFileSync(file, text);
  }
}
addExtensions(join(root, "dist/types"));
console.error("built", join(root, "dist"));
