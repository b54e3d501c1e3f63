/**
 * Design properties 18 and 20 on the real sharp pipeline, over generated images: photo-like
 * scenes and flat graphics, JPEG/PNG/WebP inputs, any size from tiny to a few megapixels' worth
 * of side, alpha or not, any EXIF orientation.
 */
import fc from "fast-check";
import sharp, { type Sharp } from "sharp";
import { describe, expect, it } from "vitest";
import { processImage, THUMBNAIL_SIZES } from "../../../src/platform/images/process";
import { psnr, scene } from "../../support/images";

const RUNS = 100;
// Real encodes on a shared 2-core machine: a deadline for a hung build, not a timing check.

type Source = "jpeg" | "png" | "webp";

async function encode(img: Sharp, format: Source, quality: number, orientation: number): Promise<Buffer> {
  const typed =
    format === "jpeg"
      ? img.jpeg({ quality })
      : format === "png"
        ? img.png({ compressionLevel: 9 })
        : img.webp({ quality, lossless: quality === 100 });
  return orientation === 1 ? typed.toBuffer() : typed.withMetadata({ orientation }).toBuffer();
}

describe("Property 18: Image compression", () => {
  it("Property 18: Image compression — the stored image is never larger than the upload and keeps its look (PSNR ≥ 30 dB)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          width: fc.integer({ min: 8, max: 640 }),
          height: fc.integer({ min: 8, max: 640 }),
          seed: fc.integer({ min: 1, max: 1_000_000 }),
          format: fc.constantFrom<Source>("jpeg", "png"),
          quality: fc.integer({ min: 85, max: 100 }),
          orientation: fc.integer({ min: 1, max: 8 }),
        }),
        async ({ width, height, seed, format, quality, orientation }) => {
          const input = await encode(await scene(width, height, seed), format, quality, orientation);
          const out = await processImage(input);
          expect(out.original.bytes).toBeLessThanOrEqual(input.length);
          expect(out.original.quality).toBeGreaterThanOrEqual(60);
          expect(await psnr(input, out.original.data)).toBeGreaterThanOrEqual(30);
          const meta = await sharp(out.original.data).metadata();
          expect(meta.format).toBe("webp");
          expect(meta.exif).toBeUndefined();
        },
      ),
      { numRuns: RUNS },
    );
  }, 300_000);
});

describe("Property 20: Thumbnail generation", () => {
  it("Property 20: Thumbnail generation — every image gets 150, 300 and 600 thumbnails that fit their box, keep the aspect, are upright and never enlarged", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          width: fc.integer({ min: 1, max: 1200 }),
          height: fc.integer({ min: 1, max: 1200 }),
          colour: fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255)),
          alpha: fc.boolean(),
          format: fc.constantFrom<Source>("jpeg", "png", "webp"),
          orientation: fc.integer({ min: 1, max: 8 }),
        }),
        async ({ width, height, colour, alpha, format, orientation }) => {
          const channels = alpha && format !== "jpeg" ? 4 : 3;
          const img = sharp({
            create: {
              width,
              height,
              channels,
              background: { r: colour[0], g: colour[1], b: colour[2], alpha: channels === 4 ? 0.5 : 1 },
            },
          });
          const input = await encode(img, format, 90, orientation);
          const out = await processImage(input);
          const swap = orientation >= 5;
          const [W, H] = swap ? [height, width] : [width, height];
          expect([out.source.width, out.source.height]).toEqual([W, H]);
          expect(out.thumbnails.map((t) => t.size)).toEqual([...THUMBNAIL_SIZES]);
          for (const t of out.thumbnails) {
            const meta = await sharp(t.data).metadata();
            expect([meta.width, meta.height]).toEqual([t.width, t.height]);
            expect(meta.exif).toBeUndefined();
            // Fits the box, never enlarged: the longer side is min(box, source's longer side).
            expect(Math.max(t.width, t.height)).toBe(Math.min(t.size, Math.max(W, H)));
            // Aspect kept, up to rounding of the shorter side (at least 1 px).
            const scale = Math.min(1, t.size / Math.max(W, H));
            expect(Math.abs(t.width - W * scale)).toBeLessThanOrEqual(1);
            expect(Math.abs(t.height - H * scale)).toBeLessThanOrEqual(1);
            expect(meta.hasAlpha).toBe(channels === 4);
          }
        },
      ),
      { numRuns: RUNS },
    );
  }, 300_000);
});
