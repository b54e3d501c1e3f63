/**
 * Presign latency per URL (µs), in process, for both storage adapters (issue 18 benchmarks):
 * S3/R2 through the S3RequestPresigner on a request built by the adapter (SigV4: a canonical
 * request, a derived key, HMACs over WebCrypto) beside the SDK's getSignedUrl (a command's whole
 * middleware pipeline per URL, what the adapter did first), and
 * the filesystem adapter's own HMAC-signed URLs, beside a bare HMAC-SHA256 of a short string
 * measured in the same run (the irreducible crypto cost; ratios against it are informational).
 * Rounds interleave the targets so background load drifts over all alike; the figure is the
 * fastest round. Nothing here talks to a network: presigning is local. Run alone:
 * `npx tsx test/bench/storage.bench.ts`; in `npm run bench` as the `storage` section.
 */
import { createHmac } from "node:crypto";
import { fileURLToPath } from "node:url";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { FilesystemStorage } from "../../src/platform/storage/filesystem";
import { S3Storage } from "../../src/platform/storage/s3";
import type { Figure } from "./figures";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const PER_ROUND = Number(process.env.BENCH_PRESIGNS ?? 1_000);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function benchStorage(): Promise<Figure[]> {
  const s3 = new S3Storage({
    bucket: "horizon-bench",
    region: "auto",
    endpoint: "https://account.r2.cloudflarestorage.com",
    accessKeyId: "AKIDBENCHBENCHBENCH",
    secretAccessKey: "bench-secret-bench-secret-bench-secret-00",
    forcePathStyle: true,
  });
  const fs = new FilesystemStorage({
    root: "/nonexistent-never-written",
    secret: "bench-secret-bench-secret-bench-secret-00",
    baseUrl: "https://api.horizon.example",
  });
  let n = 0;
  const key = () => `quarantine/0b6f4b1e-8a0e-4c1e-9a55-3f1d2e4c5b6a/${(n++).toString(16).padStart(8, "0")}`;
  const put = { contentType: "image/jpeg", contentLength: 3_145_728, expiresInSec: 3600 };
  const targets: Array<{ name: string; run: () => unknown }> = [
    {
      name: "HMAC-SHA256 baseline",
      run: () =>
        createHmac("sha256", "bench-secret").update(`PUT\n${key()}\n1733563200\nimage/jpeg`).digest(),
    },
    { name: "S3 presign PUT", run: () => s3.presignPut({ key: key(), ...put }) },
    {
      // What the adapter did first: the SDK command pipeline per URL (the comparison in one run).
      name: "S3 GET via getSignedUrl (SDK pipeline)",
      run: () =>
        getSignedUrl(s3.client, new GetObjectCommand({ Bucket: "horizon-bench", Key: key() }), {
          expiresIn: 300,
        }),
    },
    {
      name: "S3 presign GET",
      run: () => s3.presignGet({ key: key(), expiresInSec: 300, downloadName: "photo.jpg" }),
    },
    {
      name: "S3 presign part",
      run: () =>
        s3.multipart.presignPart({
          key: key(),
          uploadId: "upload-id",
          partNumber: 7,
          contentLength: 8 << 20,
          expiresInSec: 3600,
        }),
    },
    { name: "filesystem presign PUT", run: () => fs.presignPut({ key: key(), ...put }) },
    {
      name: "filesystem presign GET",
      run: () => fs.presignGet({ key: key(), expiresInSec: 300, downloadName: "photo.jpg" }),
    },
  ];
  for (const t of targets) for (let i = 0; i < 300; i++) await t.run();
  const samples = new Map<string, number[]>(targets.map((t) => [t.name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const t of targets) {
      const start = process.hrtime.bigint();
      for (let i = 0; i < PER_ROUND; i++) await t.run();
      samples.get(t.name)!.push(Number(process.hrtime.bigint() - start) / 1000 / PER_ROUND);
    }
  }
  // The fastest round: the least disturbed by the other processes of a shared machine.
  const base = Math.min(...samples.get("HMAC-SHA256 baseline")!);
  return targets.map((t) => {
    const xs = samples.get(t.name)!;
    const us = Math.min(...xs);
    return {
      name: `presign: ${t.name}`,
      value: us,
      unit: "µs",
      note: `per URL, fastest of ${ROUNDS} rounds (median ${median(xs).toFixed(1)}) × ${PER_ROUND} (${xs.map((x) => x.toFixed(1)).join("/")}); ${(us / base).toFixed(1)}× one HMAC`,
    };
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const figures = await benchStorage();
  for (const f of figures)
    console.log(`${f.name.padEnd(40)} ${f.value?.toFixed(2).padStart(8)} ${f.unit}  ${f.note}`);
}
