/**
 * argon2id through hash-wasm (WASM) for Bun and Node. Not for Workers: workerd refuses to
 * compile WASM at run time ("Wasm code generation disallowed by embedder"); use ./noble there.
 */
import { argon2id } from "hash-wasm";
import { type Argon2Params, createArgon2idHasher, OWASP_ARGON2ID, type PasswordHasher } from "./index";

export function createHashWasmHasher(params: Argon2Params = OWASP_ARGON2ID): PasswordHasher {
  return createArgon2idHasher(
    (password, salt, p, length) =>
      argon2id({
        password,
        salt,
        memorySize: p.m,
        iterations: p.t,
        parallelism: p.p,
        hashLength: length,
        outputType: "binary",
      }),
    params,
  );
}
