/**
 * Image processing cost (issue 18), in process, on a 12-megapixel (4000 × 3000) photo-like JPEG
 * made at start with sharp. Measured as process CPU time per image (process.cpuUsage: libvips
 * works on libuv/vips threads of this process, all counted), with sharp.concurrency(1) so one
 * image uses one core; wall time is printed beside it. Rounds interleave the targets so load
 * drift hits them alike; figures are median rounds.
 *
 *   I1  the whole set our pipeline stores (WebP original, PSNR-checked, + 150/300/600 thumbnails from ONE
 *       decode: processImage) / one single resize of the same image (decode + rotate + resize to
 *       the stored size, 2560 px by default, + WebP encode: the original alone). Budget ≤ 1.6. Beside it, for
 *       comparison: the same four outputs from four separate decodes, and the thumbnail set alone
 *       (150/300/600) from one decode and from three separate decodes / one 600 px resize.
 *   I2  12 MP JPEGs fully processed per second per core, beside sharp doing only a 600 px resize.
 *
 * Run alone: `npx tsx test/bench/images.bench.ts`; in `npm run bench` as the `images` section.
 */
import { cpus } from "node:os";
import { fileURLToPath } from "node:url";
import sharp, { type Sharp } from "sharp";
import {
  DEFAULT_MAX_DIMENSION,
  processImage,
  renderThumbnails,
  THUMBNAIL_SIZES,
} from "../../src/platform/images/process";
import { scene } from "../support/images";
import type { Figure } from "./figures";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const PER_ROUND = Number(process.env.BENCH_IMAGES ?? 2);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const box = (n: number) => ({ width: n, height: n, fit: "inside" as const, withoutEnlargement: true });

export async function benchImages(): Promise<Figure[]> {
  const previousConcurrency = sharp.concurrency();
  sharp.concurrency(1);
  try {
    const photo = await (await scene(4000, 3000, 11)).jpeg({ quality: 90 }).toBuffer();
    const webp = (p: Sharp) => p.webp({ quality: 80, effort: 4, smartSubsample: true }).toBuffer();
    const targets: Array<{ name: string; run: () => Promise<unknown> }> = [
      // The baseline of I1: one pipeline, one output at the stored size (IMAGE_MAX_DIMENSION).
      {
        name: "one resize (original)",
        run: () => webp(sharp(photo).rotate().resize(box(DEFAULT_MAX_DIMENSION))),
      },
      { name: "whole set, one decode", run: () => processImage(photo) },
      {
        name: "whole set, four decodes",
        run: () =>
          Promise.all([
            webp(sharp(photo).rotate().resize(box(DEFAULT_MAX_DIMENSION))),
            ...THUMBNAIL_SIZES.map((n) => webp(sharp(photo).rotate().resize(box(n)))),
          ]),
      },
      { name: "one resize (600)", run: () => webp(sharp(photo).rotate().resize(box(600))) },
      {
        name: "thumbnails, one decode",
        run: () => renderThumbnails(photo),
      },
      {
        name: "thumbnails, three decodes",
        run: () => Promise.all(THUMBNAIL_SIZES.map((n) => webp(sharp(photo).rotate().resize(box(n))))),
      },
    ];
    const cpu: Record<string, number[]> = {};
    const wall: Record<string, number[]> = {};
    for (const t of targets) await t.run(); // warm-up: code paths, libvips caches
    for (let round = 0; round < ROUNDS; round++) {
      for (const t of round % 2 ? [...targets].reverse() : targets) {
        const c0 = process.cpuUsage();
        const w0 = performance.now();
        for (let i = 0; i < PER_ROUND; i++) await t.run();
        const c = process.cpuUsage(c0);
        cpu[t.name] = [...(cpu[t.name] ?? []), (c.user + c.system) / 1000 / PER_ROUND];
        wall[t.name] = [...(wall[t.name] ?? []), (performance.now() - w0) / PER_ROUND];
      }
    }
    const ms = (name: string) => median(cpu[name]!);
    const wms = (name: string) => median(wall[name]!);
    const note = (name: string) => `CPU ${ms(name).toFixed(0)} ms, wall ${wms(name).toFixed(0)} ms per image`;
    for (const t of targets) console.log(`${t.name.padEnd(28)} ${note(t.name)}`);
    const ratio = (a: string, b: string) => ms(a) / ms(b);
    return [
      {
        id: "I1",
        name: "whole set (WebP original + 150/300/600), one decode / one resize",
        value: ratio("whole set, one decode", "one resize (original)"),
        unit: "ratio",
        max: 1.6,
        note: `12 MP JPEG; ${note("whole set, one decode")} vs ${note("one resize (original)")}`,
      },
      {
        name: "whole set, four separate decodes / one resize",
        value: ratio("whole set, four decodes", "one resize (original)"),
        unit: "ratio",
        note: "for comparison with I1",
      },
      {
        id: "I1t",
        name: "thumbnails 150/300/600, one decode / one 600 px resize",
        value: ratio("thumbnails, one decode", "one resize (600)"),
        unit: "ratio",
        max: 1.6,
        note: `${note("thumbnails, one decode")} vs ${note("one resize (600)")}`,
      },
      {
        name: "thumbnails 150/300/600, three separate decodes / one 600 px resize",
        value: ratio("thumbnails, three decodes", "one resize (600)"),
        unit: "ratio",
        note: "for comparison",
      },
      {
        id: "I2",
        name: "12 MP JPEGs fully processed per second per core",
        value: 1000 / ms("whole set, one decode"),
        unit: "img/s",
        note: `sharp doing only a 600 px resize: ${(1000 / ms("one resize (600)")).toFixed(2)} img/s per core; ${cpus().length} cores here, sharp.concurrency(1)`,
      },
      {
        name: "sharp resize only (600 px WebP) per second per core",
        value: 1000 / ms("one resize (600)"),
        unit: "img/s",
        note: "baseline of I2",
      },
    ];
  } finally {
    sharp.concurrency(previousConcurrency);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const figures = await benchImages();
  for (const f of figures) {
    console.log(
      `${(f.id ?? "").padEnd(3)} ${f.name}: ${f.value?.toFixed(2)} ${f.unit}${f.max ? ` (≤ ${f.max})` : ""} — ${f.note ?? ""}`,
    );
  }
}
