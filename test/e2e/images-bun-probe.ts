/**
 * Run by test/e2e/images-bun.test.ts under Bun (the job service's runtime): the image pipeline and
 * the clamd adapter (node:net as Bun implements it) on the same fixtures as the Node tests. Prints
 * one JSON line with what it found.
 */
import sharp from "sharp";
import { ImageRejectedError, processImage } from "../../src/platform/images/process";
import { createClamdScanner } from "../../src/platform/scan/clamd";
import { EICAR } from "../support/clamd";
import {
  jpegCarryingEicar,
  jpegWithGps,
  pngBomb,
  readExif,
  sidewaysPhoto,
  truncatedJpeg,
} from "../support/images";

const refusal = (p: Promise<unknown>) =>
  p.then(
    () => "accepted",
    (e: unknown) => (e instanceof ImageRejectedError ? e.reason : `crash: ${String(e)}`),
  );

const gps = await jpegWithGps(800, 600);
const out = await processImage(gps);
const meta = await sharp(out.original.data).metadata();
const sideways = await processImage(await sidewaysPhoto(400, 200));
const scanner = createClamdScanner({
  host: "127.0.0.1",
  port: Number(process.env.CLAMD_PORT),
  timeoutMs: 20_000,
});

console.log(
  JSON.stringify({
    runtime: typeof (globalThis as { Bun?: unknown }).Bun === "object" ? "bun" : "node",
    format: meta.format,
    exif: meta.exif ? readExif(meta.exif) : null,
    smaller: out.original.bytes < gps.length,
    thumbnails: out.thumbnails.map((t) => [t.size, t.width, t.height]),
    sideways: [sideways.original.width, sideways.original.height],
    bomb: await refusal(processImage(pngBomb(20_000))),
    truncated: await refusal(processImage(await truncatedJpeg(0.5))),
    clean: await scanner.scan(gps),
    infected: await scanner.scan(await jpegCarryingEicar()),
    eicar: await scanner.scan(EICAR),
  }),
);
