/**
 * argon2id through the `argon2id` package's WASM build (openpgp.js: the block function G, G² and
 * the reference-index computation in C, SIMD where the runtime has it) for Cloudflare Workers.
 * workerd refuses to compile WASM at run time, but runs a module the bundle imports (`import
 * simd from "argon2id/dist/simd.wasm"` is a WebAssembly.Module there): the host passes its
 * modules in, this file instantiates them once per isolate, on the first hash.
 *
 * The package's own JavaScript driver (lib/argon2id.js) makes a typed-array view per block and
 * per pseudo-random index pair (~30,000 per hash at 19 MiB) and walks them through a generator:
 * in Node about a third of a hash went to that and to collecting it. The driver here does the
 * same steps of RFC 9106 §3.2 on byte offsets into the module's memory, allocating nothing per
 * block, and calls the same WASM functions, so the output is the package's (and hash-wasm's and
 * noble's: test/contract/password.contract.test.ts). Same PHC encoding as the other adapters
 * (./index), so stored hashes are shared. Hosts with Node APIs can pass modules compiled from the
 * package's files (tests do).
 */
import blake2b from "argon2id/lib/blake2b.js";
import { loadOnce } from "../load-once";
import { type Argon2Params, createArgon2idHasher, OWASP_ARGON2ID, type PasswordHasher } from "./index";

export interface Argon2idModules {
  /** dist/simd.wasm: used where the runtime has WASM SIMD (workerd, V8, Bun). */
  simd: WebAssembly.Module;
  /** dist/no-simd.wasm: the fallback. */
  noSimd: WebAssembly.Module;
}

/** The exports of the package's WASM (lib/wasm.c); every pointer is a byte offset into `memory`. */
interface Argon2idExports {
  /** R = G(X, Y), with a 1 KiB scratch block Z. */
  G(x: number, y: number, r: number, z: number): void;
  /** R = G(X, G(X, Y)): one block of data-independent addresses. */
  G2(x: number, y: number, r: number, z: number): void;
  /** buf = xs ^ ys, 1 KiB. */
  xor(buf: number, xs: number, ys: number): void;
  /** out[0], out[1] = the lane and index of the reference block for J1J2 (RFC 9106 §3.4.1.1–2). */
  getLZ(
    out: number,
    j1j2: number,
    lane: number,
    lanes: number,
    pass: number,
    slice: number,
    segmentOffset: number,
    slices: number,
    segmentLength: number,
  ): void;
}

const BLOCK = 1024;
const SLICES = 4;
const TYPE_ID = 2; // Argon2id
const VERSION = 0x13;
// Fixed places in the module's memory, before the blocks (the package's own layout).
const SCRATCH = 0;
const ADDRESSES = 1024; // a block of 128 J1J2 pairs
const ADDRESS_INPUT = 2048; // Z || counter || zeros
const ZERO_BLOCK = 3072;
const LZ = 4096; // two uint32
const NEW_BLOCK = 4104;
const BLOCKS = NEW_BLOCK + BLOCK;
const PAGE = 65536;

const le32 = (buf: Uint8Array, n: number, at: number) => {
  buf[at] = n;
  buf[at + 1] = n >>> 8;
  buf[at + 2] = n >>> 16;
  buf[at + 3] = n >>> 24;
};
/** n < 2^53 as 8 little-endian bytes (the top byte is always 0). */
const le64 = (buf: Uint8Array, n: number, at: number) => {
  for (let k = 0; k < 8; k++) {
    const byte = n % 256;
    buf[at + k] = byte;
    n = (n - byte) / 256;
  }
};

/** H' of RFC 9106 §3.3: `out.length` bytes of BLAKE2b-based variable-length hash of `input`. */
function variableHash(input: Uint8Array, out: Uint8Array): void {
  const prefixed = new Uint8Array(4 + input.length);
  le32(prefixed, out.length, 0);
  prefixed.set(input, 4);
  if (out.length <= 64) {
    blake2b(out.length).update(prefixed).digest(out);
    return;
  }
  const r = Math.ceil(out.length / 32) - 2;
  const v = new Uint8Array(64);
  for (let i = 0; i < r; i++) {
    blake2b(64)
      .update(i === 0 ? prefixed : v)
      .digest(v);
    out.set(v.subarray(0, 32), i * 32);
  }
  // digest() answers an ArrayBuffer (of a fresh array when none is passed in).
  const tail = blake2b(out.length - 32 * r)
    .update(v)
    .digest();
  out.set(new Uint8Array(tail), r * 32);
}

/** H0 of RFC 9106 §3.2 (no secret, no associated data). */
function initialHash(password: Uint8Array, salt: Uint8Array, p: Argon2Params, tagLength: number): Uint8Array {
  const input = new Uint8Array(24 + 4 + password.length + 4 + salt.length + 8);
  let at = 0;
  for (const n of [p.p, tagLength, p.m, p.t, VERSION, TYPE_ID]) {
    le32(input, n, at);
    at += 4;
  }
  le32(input, password.length, at);
  input.set(password, at + 4);
  at += 4 + password.length;
  le32(input, salt.length, at);
  input.set(salt, at + 4);
  // Secret and associated data: both empty, their lengths 0 (already zero).
  const out = new Uint8Array(64);
  blake2b(64).update(input).digest(out);
  return out;
}

function derive(
  wasm: Argon2idExports,
  memory: WebAssembly.Memory,
  password: Uint8Array,
  salt: Uint8Array,
  params: Argon2Params,
  tagLength: number,
): Uint8Array {
  const lanes = params.p;
  const blocks = 4 * lanes * Math.floor(params.m / (4 * lanes)); // m'
  const laneLength = blocks / lanes; // q
  const segmentLength = laneLength / SLICES;
  const needed = BLOCKS + blocks * BLOCK;
  if (memory.buffer.byteLength < needed) memory.grow(Math.ceil((needed - memory.buffer.byteLength) / PAGE));
  const heap = new Uint8Array(memory.buffer);
  const lz = new Uint32Array(memory.buffer, LZ, 2);
  const at = (lane: number, index: number) => BLOCKS + (lane * laneLength + index) * BLOCK;

  // The first two blocks of each lane from H0.
  const h0 = initialHash(password, salt, params, tagLength);
  const seed = new Uint8Array(72);
  seed.set(h0);
  for (let lane = 0; lane < lanes; lane++) {
    for (let index = 0; index < 2; index++) {
      le32(seed, index, 64);
      le32(seed, lane, 68);
      variableHash(seed, heap.subarray(at(lane, index), at(lane, index) + BLOCK));
    }
  }

  heap.fill(0, SCRATCH, BLOCKS);
  for (let pass = 0; pass < params.t; pass++) {
    for (let slice = 0; slice < SLICES; slice++) {
      // Argon2id: the first half of the first pass takes its reference indices from a
      // pseudo-random stream (side-channel resistant), the rest from the previous block.
      const independent = pass === 0 && slice <= 1;
      for (let lane = 0; lane < lanes; lane++) {
        const first = pass === 0 && slice === 0 ? 2 : 0;
        if (independent) {
          heap.fill(0, ADDRESS_INPUT, ADDRESS_INPUT + BLOCK);
          le64(heap, pass, ADDRESS_INPUT);
          le64(heap, lane, ADDRESS_INPUT + 8);
          le64(heap, slice, ADDRESS_INPUT + 16);
          le64(heap, blocks, ADDRESS_INPUT + 24);
          le64(heap, params.t, ADDRESS_INPUT + 32);
          le64(heap, TYPE_ID, ADDRESS_INPUT + 40);
        }
        for (let offset = first; offset < segmentLength; offset++) {
          const index = slice * segmentLength + offset;
          const previous = index > 0 ? at(lane, index - 1) : at(lane, laneLength - 1);
          let j1j2 = previous;
          if (independent) {
            // Pair `offset` of the segment is pair offset % 128 of address block offset / 128 + 1.
            const pair = offset % 128;
            if (pair === 0 || offset === first) {
              le64(heap, (offset - pair) / 128 + 1, ADDRESS_INPUT + 48);
              wasm.G2(ZERO_BLOCK, ADDRESS_INPUT, ADDRESSES, SCRATCH);
            }
            j1j2 = ADDRESSES + pair * 8;
          }
          wasm.getLZ(LZ, j1j2, lane, lanes, pass, slice, offset, SLICES, segmentLength);
          const reference = at(lz[0]!, lz[1]!);
          const current = at(lane, index);
          if (pass === 0) wasm.G(previous, reference, current, SCRATCH);
          else {
            wasm.G(previous, reference, NEW_BLOCK, SCRATCH);
            wasm.xor(current, NEW_BLOCK, current);
          }
        }
      }
    }
  }

  // The final block: the XOR of each lane's last block, then H' of it.
  const last = at(0, laneLength - 1);
  for (let lane = 1; lane < lanes; lane++) wasm.xor(last, last, at(lane, laneLength - 1));
  const tag = new Uint8Array(tagLength);
  variableHash(heap.subarray(last, last + BLOCK), tag);
  // The module stays cached with its memory: leave no block of this password in it.
  heap.fill(0, 0, needed);
  return tag;
}

export function createArgon2idWasmHasher(
  modules: Argon2idModules,
  params: Argon2Params = OWASP_ARGON2ID,
): PasswordHasher {
  const load = loadOnce(async () => {
    // 65 MiB to start (the package's build declares at least that), grown for larger hashes.
    const memory = new WebAssembly.Memory({ initial: 1040, maximum: 65536 });
    const imports = { env: { memory } };
    // instantiate(Module) links an already-compiled module: allowed where compiling is not.
    const instance = await WebAssembly.instantiate(modules.simd, imports).catch(() =>
      WebAssembly.instantiate(modules.noSimd, imports),
    );
    return { wasm: instance.exports as unknown as Argon2idExports, memory };
  });
  return createArgon2idHasher(async (password, salt, p, length) => {
    const { wasm, memory } = await load();
    // Hashing is synchronous: calls never overlap on the one memory.
    return derive(wasm, memory, password, salt, p, length);
  }, params);
}
