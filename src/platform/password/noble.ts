/**
 * argon2id in pure JavaScript (@noble/hashes) for Cloudflare Workers, where WASM cannot be
 * compiled at run time. ~3× slower than hash-wasm (about 200 ms at the OWASP parameters), and
 * the async variant yields to the event loop so one login does not stall other requests.
 */
import { argon2idAsync } from "@noble/hashes/argon2.js";
import { type Argon2Params, createArgon2idHasher, OWASP_ARGON2ID, type PasswordHasher } from "./index";

export function createNobleHasher(params: Argon2Params = OWASP_ARGON2ID): PasswordHasher {
  return createArgon2idHasher(
    (password, salt, p, length) => argon2idAsync(password, salt, { m: p.m, t: p.t, p: p.p, dkLen: length }),
    params,
  );
}
