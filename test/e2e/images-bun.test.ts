/**
 * The job service runs on Bun: sharp (libvips) and the clamd adapter (node:net) must work there
 * as under Node. Spawns Bun on test/e2e/images-bun-probe.ts against a real clamd.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ClamdHandle, startClamd } from "../support/clamd";

const ROOT = join(import.meta.dirname, "../..");
const BUN = join(ROOT, "node_modules/.bin/bun");

let clamd: ClamdHandle;
beforeAll(async () => {
  clamd = await startClamd();
});
afterAll(async () => {
  await clamd?.stop();
});

describe("image pipeline and clamd under Bun", () => {
  it("strips EXIF, rotates, makes thumbnails, refuses bombs and truncated JPEGs, and scans through clamd", async () => {
    const child = spawn(BUN, [join(ROOT, "test/e2e/images-bun-probe.ts")], {
      cwd: ROOT,
      env: { ...process.env, CLAMD_PORT: String(clamd.port) },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    child.stderr.on("data", (d) => {
      out += d;
    });
    const code = await new Promise<number | null>((r) => child.on("exit", r));
    expect(code, out).toBe(0);
    const line = out.split("\n").find((l) => l.startsWith("{"));
    expect(line, out).toBeDefined();
    expect(JSON.parse(line!)).toEqual({
      runtime: "bun",
      format: "webp",
      exif: null,
      smaller: true,
      thumbnails: [
        [150, 150, 113],
        [300, 300, 225],
        [600, 600, 450],
      ],
      sideways: [200, 400],
      bomb: "too_many_pixels",
      truncated: "corrupt",
      clean: { clean: true },
      infected: { clean: false, signature: expect.stringMatching(/Eicar/i) },
      eicar: { clean: false, signature: expect.stringMatching(/Eicar/i) },
    });
  }, 180_000);
});
