/**
 * The edge bench's baseline Worker, served by `wrangler dev` like the real one: bare Hono
 * answering the same JSON as the bare Node/Bun targets (E1), and one argon2id hash per request
 * with the edge's WASM hasher and with pure-JS noble (E2), at the OWASP parameters.
 */
import argon2NoSimd from "argon2id/dist/no-simd.wasm";
import argon2Simd from "argon2id/dist/simd.wasm";
import { Hono } from "hono";
import { createArgon2idWasmHasher } from "../../../src/platform/password/argon2id-wasm";
import { createNobleHasher } from "../../../src/platform/password/noble";

const wasm = createArgon2idWasmHasher({ simd: argon2Simd, noSimd: argon2NoSimd });
const noble = createNobleHasher();
const app = new Hono();
app.get("/health", (c) => c.json({ status: "ok" }));
app.get("/hash/wasm", async (c) => c.text(await wasm.hash("bench-password-0123")));
app.get("/hash/noble", async (c) => c.text(await noble.hash("bench-password-0123")));
export default app;
