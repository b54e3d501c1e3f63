/**
 * Builds the Worker as `npm run build:edge` does (wrangler deploy --dry-run: wrangler's own
 * esbuild, offline) into a temporary folder with esbuild's metafile, and reads what went in:
 * the upload sizes wrangler prints, every input file and every external import.
 */
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/**
 * Gzip budget of the Worker bundle. 695 KiB when set (issue 19, with the S3 presigner, QStash,
 * i18next and luxon already in); the room above it is for the notification, webhook and file code
 * landing now. Cloudflare's limit is 3 MiB compressed on the free plan, 10 MiB paid.
 */
export const EDGE_GZIP_BUDGET_KIB = 1024;

/**
 * Packages and Node modules that must never reach the Worker: Node-only adapters (they load, but
 * fail or bloat in workerd) and the Bun/Node defaults the edge host replaces.
 */
export const EDGE_FORBIDDEN = [
  "sharp",
  "web-push",
  "firebase-admin",
  "ioredis",
  "pg",
  "hash-wasm",
  "rate-limiter-flexible",
  "node:http2",
  "node:net",
  "node:dns",
] as const;

export interface EdgeBundle {
  totalKiB: number;
  gzipKiB: number;
  /** Input files (paths relative to the repository), as esbuild's metafile lists them. */
  inputs: string[];
  /** Imports left external (node:* builtins, cloudflare:*). */
  externals: string[];
  /** Bytes of output per npm package (or src folder). */
  bytesByPackage: Map<string, number>;
  /** Bytes of output per input file (0 for a file esbuild read but shook out entirely). */
  bytesByInput: Map<string, number>;
}

export async function buildEdgeBundle(): Promise<EdgeBundle> {
  const dir = await mkdtemp(join(tmpdir(), "horizon-edge-build-"));
  try {
    const output = await new Promise<string>((resolve, reject) => {
      const child = spawn(
        join(ROOT, "node_modules", ".bin", "wrangler"),
        ["deploy", "--dry-run", "--outdir", dir, "--metafile", join(dir, "meta.json")],
        {
          cwd: ROOT,
          env: { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1", FORCE_COLOR: "0" },
        },
      );
      let out = "";
      child.stdout.on("data", (d) => {
        out += d;
      });
      child.stderr.on("data", (d) => {
        out += d;
      });
      child.once("error", reject);
      child.once("exit", (code) =>
        code === 0 ? resolve(out) : reject(new Error(`wrangler exited ${code}:\n${out}`)),
      );
    });
    const size = /Total Upload: ([\d.]+) KiB \/ gzip: ([\d.]+) KiB/.exec(output);
    if (!size) throw new Error(`no upload size in wrangler's output:\n${output}`);
    const meta = JSON.parse(await readFile(join(dir, "meta.json"), "utf8")) as {
      inputs: Record<string, unknown>;
      outputs: Record<
        string,
        {
          imports?: Array<{ path: string; external?: boolean }>;
          inputs?: Record<string, { bytesInOutput: number }>;
        }
      >;
    };
    const externals = new Set<string>();
    const bytesByPackage = new Map<string, number>();
    const bytesByInput = new Map<string, number>();
    for (const out of Object.values(meta.outputs)) {
      for (const im of out.imports ?? []) if (im.external) externals.add(im.path);
      for (const [input, { bytesInOutput }] of Object.entries(out.inputs ?? {})) {
        bytesByInput.set(input, (bytesByInput.get(input) ?? 0) + bytesInOutput);
        const key = packageOf(input) ?? input.split("/").slice(0, 2).join("/");
        bytesByPackage.set(key, (bytesByPackage.get(key) ?? 0) + bytesInOutput);
      }
    }
    return {
      totalKiB: Number(size[1]),
      gzipKiB: Number(size[2]),
      inputs: Object.keys(meta.inputs),
      externals: [...externals].sort(),
      bytesByPackage,
      bytesByInput,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The npm package an input path belongs to (`@scope/name` or `name`), or null for our own files. */
export function packageOf(input: string): string | null {
  const at = input.lastIndexOf("node_modules/");
  if (at === -1) return null;
  const parts = input.slice(at + "node_modules/".length).split("/");
  return parts[0]!.startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0]!;
}

/** The forbidden names that entered the bundle (as a package input or an external import). */
export function forbiddenIn(bundle: EdgeBundle): string[] {
  const packages = new Set(bundle.inputs.map(packageOf).filter((p): p is string => p !== null));
  return EDGE_FORBIDDEN.filter((name) =>
    name.startsWith("node:") ? bundle.externals.includes(name) : packages.has(name),
  );
}

/**
 * zod's locale files other than English (the default messages) that put code into the bundle.
 * esbuild reads them all (zod's core module re-exports them) and, with workers/edge-zod, keeps none.
 */
export function zodLocalesIn(bundle: EdgeBundle): string[] {
  return [...bundle.bytesByInput]
    .filter(([i, bytes]) => bytes > 0 && /zod\/v4\/locales\/(?!en\.js|index\.js)[\w-]+\.js$/.test(i))
    .map(([i]) => i);
}
