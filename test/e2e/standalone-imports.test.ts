/**
 * What a start of the standalone host loads (issue 19, Start): under Bun, as `npm start` runs it,
 * importing workers/standalone.ts loads no SDK of an adapter the default host does not use at
 * start. sharp is loaded by the first image, firebase-admin by the first FCM send, the AWS SDK by
 * the first S3 call: together ~150 ms of every start and restart on this machine.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const ROOT = join(__dirname, "../..");
const BUN = join(ROOT, "node_modules/.bin/bun");

/** The npm packages (scope/name) whose files the process has loaded after importing `entry`. */
async function packagesLoadedBy(entry: string): Promise<Set<string>> {
  const script = `
    await import(${JSON.stringify(join(ROOT, entry))});
    const names = new Set();
    for (const file of Object.keys(require.cache)) {
      const at = file.lastIndexOf("/node_modules/");
      if (at < 0) continue;
      const parts = file.slice(at + 14).split("/");
      names.add(parts[0].startsWith("@") ? parts[0] + "/" + parts[1] : parts[0]);
    }
    console.log(JSON.stringify([...names]));`;
  const { stdout } = await promisify(execFile)(BUN, ["-e", script], { cwd: ROOT, timeout: 60_000 });
  return new Set(JSON.parse(stdout.trim().split("\n").at(-1)!) as string[]);
}

describe("standalone host imports", () => {
  it("loads Hono, Drizzle and web-push at start, and not sharp, firebase-admin or the AWS SDK", async () => {
    const loaded = await packagesLoadedBy("workers/standalone.ts");
    // What it does need is there (so the listing itself works).
    for (const used of ["hono", "@hono/zod-openapi", "drizzle-orm", "web-push", "zod"]) {
      expect(loaded, used).toContain(used);
    }
    for (const deferred of [
      "sharp",
      "firebase-admin",
      "@aws-sdk/client-s3",
      "@aws-sdk/s3-request-presigner",
    ]) {
      expect(loaded, deferred).not.toContain(deferred);
    }
  });
});
