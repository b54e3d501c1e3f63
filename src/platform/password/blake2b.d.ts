/** The BLAKE2b of the `argon2id` package (lib/blake2b.js, plain JavaScript without types). */
declare module "argon2id/lib/blake2b.js" {
  interface Blake2b {
    update(input: Uint8Array): Blake2b;
    /** Fills `out` when given (else a new array of the output length) and answers its buffer. */
    digest(out?: Uint8Array): ArrayBuffer;
  }
  export default function createHash(outlen: number): Blake2b;
}
