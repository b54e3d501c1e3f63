/**
 * The Worker bundle as `npm run build:edge` builds it: under its gzip budget, and free of the
 * Node-only adapters and Bun/Node defaults (sharp, web-push, firebase-admin, ioredis, pg,
 * hash-wasm, rate-limiter-flexible, node:http2, node:net, node:dns), which must stay in files
 * only the Node hosts import (workers/node-services.ts, workers/node-handlers.ts); and zod's
 * message locales stay out (workers/edge-zod, wrangler.toml `[alias]`) while English stays in.
 */
import { beforeAll, describe, expect, it } from "vitest";
import {
  buildEdgeBundle,
  EDGE_GZIP_BUDGET_KIB,
  type EdgeBundle,
  forbiddenIn,
  zodLocalesIn,
} from "../support/edge-bundle";

describe("edge bundle", () => {
  let bundle: EdgeBundle;
  beforeAll(async () => {
    bundle = await buildEdgeBundle();
  }, 240_000);

  it(`stays under ${EDGE_GZIP_BUDGET_KIB} KiB gzip`, () => {
    const top = [...bundle.bytesByPackage].sort((a, b) => b[1] - a[1]).slice(0, 10);
    expect(
      bundle.gzipKiB,
      `gzip ${bundle.gzipKiB} KiB; largest: ${top.map(([k, v]) => `${k} ${Math.round(v / 1024)} KiB`).join(", ")}`,
    ).toBeLessThanOrEqual(EDGE_GZIP_BUDGET_KIB);
  });

  it("carries no Node-only adapter", () => {
    expect(forbiddenIn(bundle)).toEqual([]);
    // The scan itself sees the packages (a metafile without inputs would pass vacuously).
    expect(bundle.inputs.some((i) => i.includes("node_modules/hono/"))).toBe(true);
    expect(bundle.inputs.some((i) => i.startsWith("workers/edge.ts"))).toBe(true);
  });

  it("carries zod's English messages and none of its other locales", () => {
    expect(zodLocalesIn(bundle)).toEqual([]);
    // The check sees locale code when it is there: zod's English messages are in the bundle.
    expect(bundle.bytesByInput.get("node_modules/zod/v4/locales/en.js") ?? 0).toBeGreaterThan(1000);
  });
});
