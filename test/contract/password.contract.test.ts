/**
 * The password hasher port, on every adapter: standard PHC argon2id strings at the OWASP
 * parameters, verification of each other's hashes (the edge and the standalone host share one
 * users table), and no exception on a corrupt stored hash.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { argon2Verify } from "hash-wasm";
import { describe, expect, it } from "vitest";
import { type PasswordHasher, parsePhc } from "../../src/platform/password";
import { createArgon2idWasmHasher } from "../../src/platform/password/argon2id-wasm";
import { createHashWasmHasher } from "../../src/platform/password/hash-wasm";
import { createNobleHasher } from "../../src/platform/password/noble";

// The Worker imports these files as compiled modules; on Node they are compiled from the package's files.
const wasm = (file: string) =>
  new WebAssembly.Module(readFileSync(createRequire(import.meta.url).resolve(file)));

const adapters: Array<[string, PasswordHasher]> = [
  ["hash-wasm", createHashWasmHasher()],
  ["noble", createNobleHasher()],
  [
    "argon2id-wasm (edge)",
    createArgon2idWasmHasher({
      simd: wasm("argon2id/dist/simd.wasm"),
      noSimd: wasm("argon2id/dist/no-simd.wasm"),
    }),
  ],
];

describe.each(adapters)("password hasher: %s", (name, hasher) => {
  it("hashes to a salted PHC argon2id string at the OWASP parameters", async () => {
    const a = await hasher.hash("Correct-Horse-9-Battery");
    const b = await hasher.hash("Correct-Horse-9-Battery");
    expect(a).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    expect(a).not.toBe(b);
    expect(parsePhc(a)).toMatchObject({ params: { m: 19456, t: 2, p: 1 } });
  });

  it("verifies the right password only, including non-ASCII ones", async () => {
    const pw = "Pässwörd-סיסמה-9!";
    const h = await hasher.hash(pw);
    expect(await hasher.verify(pw, h)).toBe(true);
    expect(await hasher.verify(`${pw} `, h)).toBe(false);
    expect(await hasher.verify("", h)).toBe(false);
  });

  it("verifies the other adapter's hashes and the reference verifier accepts its own", async () => {
    for (const [other, otherHasher] of adapters) {
      const h = await otherHasher.hash(`shared-${other}-Pw1!`);
      expect(await hasher.verify(`shared-${other}-Pw1!`, h), `${name} verifying ${other}`).toBe(true);
    }
    const own = await hasher.hash("Reference-Check-1!");
    expect(await argon2Verify({ password: "Reference-Check-1!", hash: own })).toBe(true);
  });

  it("answers false, never throws, for corrupt or foreign encodings", async () => {
    const good = await hasher.hash("Correct-Horse-9-Battery");
    const bad = [
      "",
      "!fixture-no-login",
      good.replace("argon2id", "argon2i"),
      good.replace("m=19456", "m=999999999"),
      good.replace("t=2", "t=0"),
      good.slice(0, -5),
      `${good}$extra`,
      "$2b$12$abcdefghijklmnopqrstuuQ2w8oM7rK1r3Cq5cWmF0Yx1r0Yy3e7a", // bcrypt
    ];
    for (const encoded of bad)
      expect(await hasher.verify("Correct-Horse-9-Battery", encoded), encoded).toBe(false);
  });
});
