/**
 * The password hasher port: argon2id (RFC 9106) with the standard PHC string encoding
 * `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>` (unpadded base64), so every adapter verifies the
 * hashes of every other one. Adapters: hash-wasm (Bun, Node: WASM, ~3× faster) and
 * @noble/hashes (pure JS, for Workers, where workerd forbids compiling WASM at run time).
 * Both supply only the raw derivation; encoding, parsing and comparison live here once.
 */

export interface PasswordHasher {
  /** A PHC-encoded argon2id hash of `password` (non-empty) with a fresh random salt. */
  hash(password: string): Promise<string>;
  /** true when `password` matches `encoded`; false for a wrong password or an unusable hash. */
  verify(password: string, encoded: string): Promise<boolean>;
}

export interface Argon2Params {
  /** memory in KiB */
  m: number;
  /** iterations */
  t: number;
  /** lanes */
  p: number;
}

/** OWASP Password Storage Cheat Sheet minimum for argon2id: 19 MiB, 2 iterations, 1 lane. */
export const OWASP_ARGON2ID: Argon2Params = { m: 19456, t: 2, p: 1 };

export const SALT_BYTES = 16;
export const HASH_BYTES = 32;

/**
 * Bounds for parameters read back from a stored hash: a corrupted or hostile row must not make
 * one verify allocate gigabytes or spin for minutes.
 */
const LIMITS = { m: [8, 262_144], t: [1, 16], p: [1, 4], salt: [8, 64], hash: [16, 64] } as const;

/** The raw argon2id derivation an adapter provides. */
export type Argon2idDerive = (
  password: Uint8Array,
  salt: Uint8Array,
  params: Argon2Params,
  length: number,
) => Promise<Uint8Array>;

export interface ParsedHash {
  params: Argon2Params;
  salt: Uint8Array;
  hash: Uint8Array;
}

function toB64(bytes: Uint8Array): string {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/=+$/, "");
}

function fromB64(s: string): Uint8Array | null {
  if (!/^[A-Za-z0-9+/]+$/.test(s)) return null;
  try {
    const bin = atob(s + "=".repeat((4 - (s.length % 4)) % 4));
    return Uint8Array.from(bin, (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}

export function encodePhc(params: Argon2Params, salt: Uint8Array, hash: Uint8Array): string {
  return `$argon2id$v=19$m=${params.m},t=${params.t},p=${params.p}$${toB64(salt)}$${toB64(hash)}`;
}

const within = (v: number, [lo, hi]: readonly [number, number]) => Number.isInteger(v) && v >= lo && v <= hi;

/** Parses a PHC argon2id string; null for anything else (other algorithms, bad encoding, wild parameters). */
export function parsePhc(encoded: string): ParsedHash | null {
  const m =
    /^\$argon2id\$v=19\$m=(\d{1,7}),t=(\d{1,3}),p=(\d{1,2})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/.exec(
      encoded,
    );
  if (!m) return null;
  const params = { m: Number(m[1]), t: Number(m[2]), p: Number(m[3]) };
  const salt = fromB64(m[4]!);
  const hash = fromB64(m[5]!);
  if (!salt || !hash) return null;
  if (!within(params.m, LIMITS.m) || !within(params.t, LIMITS.t) || !within(params.p, LIMITS.p)) return null;
  if (params.m < 8 * params.p) return null;
  if (!within(salt.length, LIMITS.salt) || !within(hash.length, LIMITS.hash)) return null;
  return { params, salt, hash };
}

/** Compares in time that depends only on the lengths, never on where the bytes first differ. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** Builds a PasswordHasher from an adapter's derivation. Hashing uses `params`; verifying uses the stored ones. */
export function createArgon2idHasher(
  derive: Argon2idDerive,
  params: Argon2Params = OWASP_ARGON2ID,
): PasswordHasher {
  const encoder = new TextEncoder();
  return {
    async hash(password) {
      // hash-wasm refuses empty input; refusing it in every adapter keeps them interchangeable.
      if (password.length === 0) throw new Error("cannot hash an empty password");
      const salt = crypto.getRandomValues(new Uint8Array(SALT_BYTES));
      const hash = await derive(encoder.encode(password), salt, params, HASH_BYTES);
      return encodePhc(params, salt, hash);
    },
    async verify(password, encoded) {
      const parsed = parsePhc(encoded);
      if (!parsed || password.length === 0) return false;
      try {
        const actual = await derive(encoder.encode(password), parsed.salt, parsed.params, parsed.hash.length);
        return constantTimeEqual(actual, parsed.hash);
      } catch {
        return false;
      }
    },
  };
}
