/**
 * The sharp pipeline on real files made at test time (test/support/images.ts): GPS EXIF stripped,
 * alpha kept, a sideways phone photo turned upright, a 20,000² decompression bomb refused, a
 * truncated JPEG rejected (not a crash), AVIF where asked, and the thumbnails' geometry.
 */
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { ImageRejectedError, processImage, renderThumbnails } from "../../../src/platform/images/process";
import {
  jpegWithGps,
  pngBomb,
  pngWithAlpha,
  psnr,
  readExif,
  scene,
  sidewaysPhoto,
  truncatedJpeg,
} from "../../support/images";

describe("image pipeline", () => {
  it("strips EXIF, GPS and XMP from a phone JPEG and re-encodes it to a smaller WebP", async () => {
    const input = await jpegWithGps();
    const before = await sharp(input).metadata();
    expect(readExif(before.exif).gpsTags.length).toBeGreaterThan(0); // the fixture really has GPS
    expect(readExif(before.exif).ifd0).toContain(0x010f); // Make

    const out = await processImage(input);
    for (const variant of [out.original, ...out.thumbnails]) {
      const meta = await sharp(variant.data).metadata();
      expect(meta.format).toBe("webp");
      expect(meta.exif).toBeUndefined();
      expect(meta.xmp).toBeUndefined();
      expect(meta.iptc).toBeUndefined();
      expect(variant.data.includes(Buffer.from("HorizonPhone"))).toBe(false);
      expect(variant.data.includes(Buffer.from("EXIF"))).toBe(false);
    }
    expect(out.original.bytes).toBeLessThan(input.length);
    expect(await psnr(input, out.original.data)).toBeGreaterThan(32);
    expect(out.source).toEqual({ format: "jpeg", width: 640, height: 480, bytes: input.length });
  });

  it("keeps a PNG's alpha channel", async () => {
    const out = await processImage(await pngWithAlpha());
    const meta = await sharp(out.original.data).metadata();
    expect(meta.hasAlpha).toBe(true);
    const px = await sharp(out.original.data).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    expect(px.data[3]).toBe(0); // top-left: transparent half
    expect(px.data[(px.info.width - 1) * 4 + 3]).toBe(255); // top-right: opaque half
  });

  it("turns a sideways phone photo (EXIF Orientation 6) upright: dimensions swapped, left side on top", async () => {
    const input = await sidewaysPhoto(400, 200);
    expect((await sharp(input).metadata()).orientation).toBe(6);
    const out = await processImage(input);
    expect([out.source.width, out.source.height]).toEqual([200, 400]);
    expect([out.original.width, out.original.height]).toEqual([200, 400]);
    expect((await sharp(out.original.data).metadata()).orientation).toBeUndefined();
    const t = out.thumbnails.find((x) => x.size === 150)!;
    expect([t.width, t.height]).toEqual([75, 150]);
    // 90° clockwise: the sensor's left (red) half is now the top.
    const px = await sharp(out.original.data).raw().toBuffer({ resolveWithObject: true });
    const at = (x: number, y: number) =>
      px.data.subarray((y * px.info.width + x) * 3, (y * px.info.width + x) * 3 + 3);
    expect(at(100, 50)[0]).toBeGreaterThan(150);
    expect(at(100, 350)[2]).toBeGreaterThan(150);
  });

  it("refuses a 20,000 × 20,000 decompression bomb from its header, without decoding it", async () => {
    const bomb = pngBomb(20_000);
    expect(bomb.length).toBeLessThan(100_000);
    const rss = process.memoryUsage().rss;
    const err = await processImage(bomb).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageRejectedError);
    expect((err as ImageRejectedError).reason).toBe("too_many_pixels");
    // 400 MP would be ≥ 400 MB decoded: nothing near that was allocated.
    expect(process.memoryUsage().rss - rss).toBeLessThan(200 * 1024 * 1024);
  });

  it("refuses by sharp's own limitInputPixels too (the limit is passed to the decoder)", async () => {
    const img = await (await scene(300, 200)).png().toBuffer();
    const err = await processImage(img, { maxInputPixels: 300 * 200 - 1 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: "ImageRejectedError", reason: "too_many_pixels" });
    await expect(processImage(img, { maxInputPixels: 300 * 200 })).resolves.toBeTruthy();
  });

  it("rejects a truncated JPEG and non-images as ImageRejectedError, never a crash", async () => {
    for (const bad of [
      await truncatedJpeg(0.5),
      await truncatedJpeg(0.05),
      Buffer.from("not an image"),
      Buffer.alloc(0),
    ]) {
      const err = await processImage(bad).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ImageRejectedError);
    }
  });

  it("encodes AVIF where asked", async () => {
    const input = await jpegWithGps(320, 240);
    const out = await processImage(input, { format: "avif" });
    expect((await sharp(out.original.data).metadata()).format).toBe("heif");
    expect(out.original.format).toBe("avif");
    expect(out.original.bytes).toBeLessThan(input.length);
    expect(out.thumbnails.map((t) => t.format)).toEqual(["avif", "avif", "avif"]);
  });

  it("fits thumbnails inside 150/300/600 boxes without enlarging a small image", async () => {
    const small = await processImage(await (await scene(200, 100)).jpeg().toBuffer());
    expect(small.thumbnails.map((t) => [t.size, t.width, t.height])).toEqual([
      [150, 150, 75],
      [300, 200, 100],
      [600, 200, 100],
    ]);
  });

  it("scales an original larger than maxDimension down", async () => {
    const out = await processImage(await (await scene(1200, 300)).jpeg().toBuffer(), { maxDimension: 800 });
    expect([out.original.width, out.original.height]).toEqual([800, 200]);
    expect(out.source).toMatchObject({ width: 1200, height: 300 });
  });

  it("renders thumbnails alone from one decode, same geometry as the full pipeline, and refuses bombs", async () => {
    const input = await sidewaysPhoto(1200, 800);
    const thumbs = await renderThumbnails(input);
    const full = await processImage(input);
    expect(thumbs.map((t) => [t.size, t.width, t.height])).toEqual(
      full.thumbnails.map((t) => [t.size, t.width, t.height]),
    );
    expect(thumbs.map((t) => [t.width, t.height])).toEqual([
      [100, 150],
      [200, 300],
      [400, 600],
    ]);
    await expect(renderThumbnails(pngBomb(20_000))).rejects.toMatchObject({ reason: "too_many_pixels" });
  });

  it("keeps the quality floor on tiny noisy images (where lossy WebP drops under 30 dB) without growing the file", async () => {
    for (const seed of [419548, 7, 99]) {
      const input = await (await scene(54, 8, seed)).png({ compressionLevel: 9 }).toBuffer();
      const out = await processImage(input);
      expect(out.original.psnr).toBeGreaterThanOrEqual(32);
      expect(out.original.bytes).toBeLessThanOrEqual(input.length);
      expect(await psnr(input, out.original.data)).toBeGreaterThanOrEqual(30);
    }
  });
});
