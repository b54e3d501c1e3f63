/**
 * Builds the package into dist/: ESM bundles per entry with shared chunks (esbuild; the
 * dependencies stay external), then type declarations (typescript 5 of this workspace,
 * declarations only, rooted at src/ so the shared protocol types come along). Run from anywhere:
 *   node src/client/scripts/build.mjs      (npm pack runs it as `prepack`)
 */
import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
rmSync(join(root, "dist"), { recursive: true, force: true });

export const ENTRIES = {
  index: "index.ts",
  sync: "sync/index.ts",
  realtime: "realtime/index.ts",
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
execFileSync(process.execPath, [tsc, "-p", join(root, "tsconfig.build.json")], { stdio: "inherit" });
console.log("built", join(root, "dist"));
