/**
 * The Worker's argon2id (src/platform/password/argon2id-wasm.ts) drives the `argon2id` package's
 * WASM with a driver of its own, allocation-free per block. Its output must be the package's own
 * driver's, and hash-wasm's (the Bun/Node adapter), for any parameters a stored hash may carry:
 * lanes 1–4 (both the SIMD and the plain module), passes 1–3, memory across segment and
 * address-block boundaries, passwords and salts of any length.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import setupWasm from "argon2id/lib/setup.js";
import fc from "fast-check";
import { argon2id as hashWasm } from "hash-wasm";
import { describe, expect, it } from "vitest";
import { parsePhc } from "../../src/platform/password";
import { createArgon2idWasmHasher } from "../../src/platform/password/argon2id-wasm";

const wasm = (file: string) =>
  new WebAssembly.Module(readFileSync(createRequire(import.meta.url).resolve(file)));
const simd = wasm("argon2id/dist/simd.wasm");
const noSimd = wasm("argon2id/dist/no-simd.wasm");
const instantiate = (module: WebAssembly.Module) => async (imports: WebAssembly.Imports) => ({
  module,
  instance: await WebAssembly.instantiate(module, imports),
});

describe("argon2id on the package's WASM, our driver", () => {
  it("derives what the package's own driver and hash-wasm derive, for any parameters", async () => {
    const reference = await setupWasm(instantiate(simd), instantiate(noSimd));
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          p: fc.integer({ min: 1, max: 4 }),
          t: fc.integer({ min: 1, max: 3 }),
          // Up to 4 lanes × 4 slices × 130 blocks: segments longer than one block of 128 addresses.
          blocksPerSegment: fc.integer({ min: 2, max: 130 }),
          extra: fc.integer({ min: 0, max: 15 }),
          password: fc.string({ minLength: 1, maxLength: 80 }),
          plainModule: fc.boolean(),
        }),
        async ({ p, t, blocksPerSegment, extra, password, plainModule }) => {
          // m need not be a multiple of 4p: the derivation rounds it down (m'), H0 keeps m.
          const m = Math.max(8 * p, 4 * p * blocksPerSegment + extra);
          const hasher = createArgon2idWasmHasher(plainModule ? { simd: noSimd, noSimd } : { simd, noSimd }, {
            m,
            t,
            p,
          });
          const stored = parsePhc(await hasher.hash(password))!;
          const bytes = new TextEncoder().encode(password);
          const hw = await hashWasm({
            password: bytes,
            salt: stored.salt,
            iterations: t,
            memorySize: m,
            parallelism: p,
            hashLength: stored.hash.length,
            outputType: "binary",
          });
          expect(stored.hash).toEqual(hw);
          // The package's driver refuses passwords under 8 bytes.
          if (bytes.length < 8) return;
          const theirs = reference({
            password: bytes,
            salt: stored.salt,
            passes: t,
            memorySize: m,
            parallelism: p,
            tagLength: stored.hash.length,
          });
          expect(stored.hash).toEqual(theirs);
        },
      ),
      { numRuns: 100 },
    );
  }, 120_000);
});
