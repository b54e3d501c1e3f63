/**
 * argon2id through the `argon2id` package (openpgp.js's WASM build of the reference C code) for
 * Cloudflare Workers. workerd refuses to compile WASM at run time, but runs a module the bundle
 * imports (`import simd from "argon2id/dist/simd.wasm"` is a WebAssembly.Module there): the host
 * passes its modules in, this file only instantiates them, once per isolate, on the first hash.
 * Same derivation and PHC encoding as hash-wasm and noble (./index), so stored hashes are shared.
 * Hosts with Node APIs can pass modules compiled from the package's files (tests do).
 */
import setupWasm from "argon2id/lib/setup.js";
import { type Argon2Params, createArgon2idHasher, OWASP_ARGON2ID, type PasswordHasher } from "./index";

export interface Argon2idModules {
  /** dist/simd.wasm: used where the runtime has WASM SIMD (workerd, V8, Bun). */
  simd: WebAssembly.Module;
  /** dist/no-simd.wasm: the fallback. */
  noSimd: WebAssembly.Module;
}

type Compute = Awaited<ReturnType<typeof setupWasm>>;

export function createArgon2idWasmHasher(
  modules: Argon2idModules,
  params: Argon2Params = OWASP_ARGON2ID,
): PasswordHasher {
  let compute: Promise<Compute> | undefined;
  // instantiate(Module) links an already-compiled module: allowed where compiling is not.
  const instantiate = (module: WebAssembly.Module) => async (imports: WebAssembly.Imports) => ({
    module,
    instance: await WebAssembly.instantiate(module, imports),
  });
  const load = () => {
    compute ??= setupWasm(instantiate(modules.simd), instantiate(modules.noSimd)).catch((err) => {
      compute = undefined;
      throw err;
    });
    return compute;
  };
  return createArgon2idHasher(async (password, salt, p, length) => {
    const hash = await load();
    // The package keeps one WASM memory per instance and hashes synchronously: calls never overlap.
    return hash({ password, salt, passes: p.t, memorySize: p.m, parallelism: p.p, tagLength: length });
  }, params);
}
