/**
 * The clamd adapter against the real daemon (Debian's clamav-daemon, test signatures only; see
 * test/support/clamd.ts): clean, infected (bare EICAR and EICAR inside a valid JPEG and PDF),
 * chunked and streamed input, clamd's size-limit refusal, and a silent or absent daemon.
 */
import { createServer, type Server } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ScanError } from "../../../src/platform/scan";
import { createClamdScanner, parseClamdReply } from "../../../src/platform/scan/clamd";
import { type ClamdHandle, EICAR, startClamd } from "../../support/clamd";
import { jpegCarryingEicar, pdf } from "../../support/images";
import { freePort } from "../../support/net";

let clamd: ClamdHandle;
beforeAll(async () => {
  clamd = await startClamd({ streamMaxBytes: 1024 * 1024 });
});
afterAll(async () => {
  await clamd?.stop();
});

const scanner = () =>
  createClamdScanner({ host: clamd.host, port: clamd.port, timeoutMs: 10_000, chunkBytes: 1000 });

describe("clamd INSTREAM", () => {
  it("answers PING", async () => {
    await expect(scanner().ping()).resolves.toBeUndefined();
  });

  it("finds a clean file clean", async () => {
    expect(await scanner().scan(Buffer.from("just a note about the leaking tap"))).toEqual({ clean: true });
    expect(await scanner().scan(pdf())).toEqual({ clean: true });
  });

  it("finds the EICAR file, and EICAR inside a valid JPEG and a valid PDF", async () => {
    for (const infected of [EICAR, await jpegCarryingEicar(), pdf(EICAR)]) {
      const verdict = await scanner().scan(infected);
      expect(verdict.clean).toBe(false);
      expect(verdict).toMatchObject({ signature: expect.stringMatching(/Eicar/i) });
    }
  });

  it("streams many chunks and async iterables (EICAR split across chunk boundaries still found)", async () => {
    const padding = Buffer.alloc(5_123, 0x20);
    const file = Buffer.concat([padding, EICAR, padding]);
    async function* pieces() {
      for (let at = 0; at < file.length; at += 777) yield file.subarray(at, at + 777);
    }
    expect((await scanner().scan(pieces())).clean).toBe(false);
    expect(await scanner().scan(padding)).toEqual({ clean: true });
  });

  it("reports clamd's own size-limit reply as ScanError size_limit", async () => {
    // The adapter's limit set above clamd's, so the bytes reach clamd and it answers
    // "INSTREAM size limit exceeded. ERROR". Just past the limit in 64 KiB frames: clamd reads
    // everything we sent before it closes, so its reply is not lost to a reset.
    const big = Buffer.alloc(clamd.streamMaxBytes + 4096, 0x41);
    const err = await createClamdScanner({ host: clamd.host, port: clamd.port, maxStreamBytes: 1e9 })
      .scan(big)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ScanError);
    expect((err as ScanError).kind).toBe("size_limit");
  });

  it("refuses a file over the configured StreamMaxLength before sending it (buffers and streams)", async () => {
    const limited = createClamdScanner({ host: clamd.host, port: clamd.port, maxStreamBytes: 10_000 });
    await expect(limited.scan(Buffer.alloc(10_001))).rejects.toMatchObject({ kind: "size_limit" });
    async function* pieces() {
      for (let i = 0; i < 5; i++) yield Buffer.alloc(4_000);
    }
    await expect(limited.scan(pieces())).rejects.toMatchObject({ kind: "size_limit" });
    expect(await limited.scan(Buffer.alloc(10_000))).toEqual({ clean: true });
  });

  it("times out on a daemon that never answers, and fails fast on one that is not there", async () => {
    const silent: Server = createServer((socket) => socket.on("data", () => {}));
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    const port = (silent.address() as { port: number }).port;
    try {
      const err = await createClamdScanner({ host: "127.0.0.1", port, timeoutMs: 300 })
        .scan(Buffer.from("x"))
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ name: "ScanError", kind: "timeout" });
    } finally {
      silent.close();
    }
    const nobody = await freePort();
    const refused = await createClamdScanner({ host: "127.0.0.1", port: nobody, timeoutMs: 5_000 })
      .scan(Buffer.from("x"))
      .catch((e: unknown) => e);
    expect(refused).toMatchObject({ name: "ScanError", kind: "connection" });
  });

  it("parses every reply shape clamd sends", () => {
    expect(parseClamdReply("stream: OK\0")).toEqual({ clean: true });
    expect(parseClamdReply("stream: Win.Test.EICAR_HDB-1 FOUND")).toEqual({
      clean: false,
      signature: "Win.Test.EICAR_HDB-1",
    });
    expect(() => parseClamdReply("INSTREAM size limit exceeded. ERROR")).toThrow(/StreamMaxLength/);
    expect(() => parseClamdReply("UNKNOWN COMMAND")).toThrow(ScanError);
  });
});
