/**
 * The one image pipeline of the job service (sharp/libvips; Node and Bun, never the Worker):
 * header check against decompression bombs (`limitInputPixels`), ONE decode that auto-rotates
 * from EXIF and drops every metadata block (EXIF, GPS, XMP, IPTC: sharp writes none unless asked
 * with withMetadata/keepExif, which we never call), then every output — the re-encoded original
 * and the 150/300/600 thumbnails — from `clone()`s of a pipeline over the decoded pixels, so the
 * set costs one decode, not four. Broken or hostile input is refused with ImageRejectedError
 * (a reason the caller records), never a crash.
 */
import sharp, { type Metadata, type OutputInfo, type Sharp, type SharpOptions } from "sharp";

export type OutputFormat = "webp" | "avif";

export const THUMBNAIL_SIZES = [150, 300, 600] as const;

export interface ImagePipelineOptions {
  /** Refuse images with more pixels than this, read from the header before decoding. Default 50 MP. */
  maxInputPixels?: number;
  /** Longest side of the stored original; larger images are scaled down. Default 2560. */
  maxDimension?: number;
  format?: OutputFormat;
  /** Encoder quality of the first attempt (1–100). Default 80 (WebP), 55 (AVIF). */
  quality?: number;
  /** Lowest quality tried to get under the input's size (the quality budget). Default 60 (WebP), 40 (AVIF). */
  minQuality?: number;
  /** Thumbnail boxes (px): each thumbnail fits inside N×N, aspect kept, never enlarged. */
  thumbnailSizes?: readonly number[];
  /** WebP/AVIF encoder effort (speed/size trade). Default 4 (WebP), 2 (AVIF). */
  effort?: number;
}

export interface EncodedImage {
  data: Buffer;
  width: number;
  height: number;
  format: OutputFormat;
  bytes: number;
}

export interface ProcessedImage {
  /** What the input was (after auto-rotation: width/height as displayed). */
  source: { format: string; width: number; height: number; bytes: number };
  original: EncodedImage & { quality: number };
  thumbnails: Array<EncodedImage & { size: number }>;
}

export type ImageRejection = "too_many_pixels" | "corrupt" | "unsupported_format";

export class ImageRejectedError extends Error {
  override name = "ImageRejectedError";
  constructor(
    readonly reason: ImageRejection,
    message: string,
  ) {
    super(message);
  }
}

const DEFAULT_MAX_PIXELS = 50_000_000;
/**
 * 2560 px: sharp on a phone screen at 2-3× density, and a 12 MP photo's WebP encode costs about
 * 0.4× what it does at full size (measured: 836 vs 1986 ms of CPU per image).
 */
export const DEFAULT_MAX_DIMENSION = 2560;
const DECODABLE = new Set(["jpeg", "png", "webp", "gif", "heif", "avif"]);

function rejection(err: unknown): ImageRejectedError {
  if (err instanceof ImageRejectedError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (/pixel limit/i.test(message)) return new ImageRejectedError("too_many_pixels", message);
  if (/unsupported image format|bad seek|not a known file format/i.test(message)) {
    return new ImageRejectedError("unsupported_format", message);
  }
  return new ImageRejectedError("corrupt", message);
}

function encoder(pipeline: Sharp, format: OutputFormat, quality: number, effort: number): Sharp {
  return format === "avif"
    ? pipeline.avif({ quality, effort })
    : pipeline.webp({ quality, effort, smartSubsample: true });
}

/**
 * Encodes at `quality`, stepping down to `minQuality` while the result is larger than `budget`
 * bytes (the input's own size: a re-encode must not grow the file). When no step fits, the
 * smallest attempt is kept — the input itself is never stored, it may carry metadata.
 */
async function encodeWithinBudget(
  base: Sharp,
  format: OutputFormat,
  quality: number,
  minQuality: number,
  effort: number,
  budget: number,
): Promise<{ data: Buffer; info: OutputInfo; quality: number }> {
  let best: { data: Buffer; info: OutputInfo; quality: number } | null = null;
  for (let q = quality; ; q = Math.max(minQuality, q - 10)) {
    const out = await encoder(base.clone(), format, q, effort).toBuffer({ resolveWithObject: true });
    if (!best || out.data.byteLength < best.data.byteLength) best = { ...out, quality: q };
    if (out.data.byteLength <= budget || q === minQuality) break;
  }
  return best!;
}

/**
 * Thumbnails from one decoded image: the largest box from the pixels, each smaller one from the
 * next larger's pixels (a 600 px image, not 12 MP, is what the 300 px one reduces), so only one
 * resize touches the full image. Answers them in the order of `sizes`.
 */
async function thumbnailCascade(
  base: Sharp,
  sizes: readonly number[],
  encode: (p: Sharp) => Promise<{ data: Buffer; info: OutputInfo }>,
): Promise<Array<{ data: Buffer; info: OutputInfo }>> {
  const order = [...sizes.keys()].sort((a, b) => sizes[b]! - sizes[a]!);
  const out = new Array<Promise<{ data: Buffer; info: OutputInfo }>>(sizes.length);
  let from = base;
  for (const i of order) {
    const size = sizes[i]!;
    const step = await from
      .clone()
      .resize({ width: size, height: size, fit: "inside", withoutEnlargement: true })
      .raw()
      .toBuffer({ resolveWithObject: true });
    const { width, height, channels } = step.info;
    from = sharp(step.data, { raw: { width, height, channels: channels as 1 | 2 | 3 | 4 } });
    out[i] = encode(from.clone());
  }
  return Promise.all(out);
}

/** Dimensions as displayed: EXIF orientations 5–8 swap width and height. */
function displayed(meta: Metadata): { width: number; height: number } {
  const swap = (meta.orientation ?? 1) >= 5;
  return { width: swap ? meta.height! : meta.width!, height: swap ? meta.width! : meta.height! };
}

/**
 * Reads only the header: format and dimensions, refusing what the pipeline would refuse to
 * decode (unknown format, no dimensions, more than `maxInputPixels` pixels). Cheap (no pixel is
 * decoded), so processing calls it before anything else looks at the file — clamd included, whose
 * image fuzzy hashing decodes the whole image (a 20,000² PNG bomb kept it busy for 73 s here).
 */
export async function inspectImage(
  input: Uint8Array,
  options: Pick<ImagePipelineOptions, "maxInputPixels"> = {},
): Promise<Metadata> {
  const maxInputPixels = options.maxInputPixels ?? DEFAULT_MAX_PIXELS;
  let meta: Metadata;
  try {
    meta = await sharp(input, { limitInputPixels: maxInputPixels, failOn: "error" }).metadata();
  } catch (err) {
    throw rejection(err);
  }
  if (!meta.format || !DECODABLE.has(meta.format)) {
    throw new ImageRejectedError("unsupported_format", `cannot process ${meta.format ?? "unknown"} images`);
  }
  // sharp's prebuilt libvips reads HEIF containers but decodes AV1 only (HEVC is patent-encumbered
  // and left out): an iPhone HEIC must be converted by the client (or libvips built with libde265).
  if (meta.format === "heif" && meta.compression === "hevc") {
    throw new ImageRejectedError(
      "unsupported_format",
      "HEIC (HEVC) images cannot be decoded here; send JPEG",
    );
  }
  if (!meta.width || !meta.height)
    throw new ImageRejectedError("corrupt", "the image header has no dimensions");
  if (meta.width * meta.height > maxInputPixels) {
    throw new ImageRejectedError(
      "too_many_pixels",
      `${meta.width}×${meta.height} exceeds the limit of ${maxInputPixels} pixels`,
    );
  }
  return meta;
}

export async function processImage(
  input: Uint8Array,
  options: ImagePipelineOptions = {},
): Promise<ProcessedImage> {
  const format = options.format ?? "webp";
  const maxInputPixels = options.maxInputPixels ?? DEFAULT_MAX_PIXELS;
  const maxDimension = options.maxDimension ?? DEFAULT_MAX_DIMENSION;
  const quality = options.quality ?? (format === "avif" ? 55 : 80);
  const minQuality = Math.min(quality, options.minQuality ?? (format === "avif" ? 40 : 60));
  const effort = options.effort ?? (format === "avif" ? 2 : 4);
  const sizes = options.thumbnailSizes ?? THUMBNAIL_SIZES;
  const inputOptions: SharpOptions = { limitInputPixels: maxInputPixels, failOn: "error" };

  const meta = await inspectImage(input, { maxInputPixels });

  // The one decode: rotate per EXIF, cap the size (JPEG/WebP shrink on load when it can), keep
  // raw pixels. Everything after works on these pixels, so no output decodes the input again.
  let decoded: { data: Buffer; info: OutputInfo };
  try {
    decoded = await sharp(input, inputOptions)
      .rotate()
      .resize({ width: maxDimension, height: maxDimension, fit: "inside", withoutEnlargement: true })
      .raw()
      .toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw rejection(err);
  }
  const { width, height, channels } = decoded.info;
  const base = sharp(decoded.data, { raw: { width, height, channels: channels as 1 | 2 | 3 | 4 } });

  const encodeThumb = (p: Sharp) => encoder(p, format, quality, effort).toBuffer({ resolveWithObject: true });
  const [original, thumbs] = await Promise.all([
    encodeWithinBudget(base, format, quality, minQuality, effort, input.byteLength),
    thumbnailCascade(base, sizes, encodeThumb),
  ]);

  return {
    source: { format: meta.format, ...displayed(meta), bytes: input.byteLength },
    original: {
      data: original.data,
      width: original.info.width,
      height: original.info.height,
      format,
      bytes: original.data.byteLength,
      quality: original.quality,
    },
    thumbnails: thumbs.map((t, i) => ({
      size: sizes[i]!,
      data: t.data,
      width: t.info.width,
      height: t.info.height,
      format,
      bytes: t.data.byteLength,
    })),
  };
}

/**
 * The thumbnails alone (no stored original), from one decode: the image is decoded straight to
 * the largest box (JPEG and WebP shrink on load) and the cascade derives the others from it.
 */
export async function renderThumbnails(
  input: Uint8Array,
  options: ImagePipelineOptions = {},
): Promise<ProcessedImage["thumbnails"]> {
  const format = options.format ?? "webp";
  const quality = options.quality ?? (format === "avif" ? 55 : 80);
  const effort = options.effort ?? (format === "avif" ? 2 : 4);
  const sizes = options.thumbnailSizes ?? THUMBNAIL_SIZES;
  const maxInputPixels = options.maxInputPixels ?? DEFAULT_MAX_PIXELS;
  await inspectImage(input, { maxInputPixels });
  const largest = Math.max(...sizes);
  let decoded: { data: Buffer; info: OutputInfo };
  try {
    decoded = await sharp(input, { limitInputPixels: maxInputPixels, failOn: "error" })
      .rotate()
      .resize({ width: largest, height: largest, fit: "inside", withoutEnlargement: true })
      .raw()
      .toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw rejection(err);
  }
  const { width, height, channels } = decoded.info;
  const base = sharp(decoded.data, { raw: { width, height, channels: channels as 1 | 2 | 3 | 4 } });
  const thumbs = await thumbnailCascade(base, sizes, (p) =>
    encoder(p, format, quality, effort).toBuffer({ resolveWithObject: true }),
  );
  return thumbs.map((t, i) => ({
    size: sizes[i]!,
    data: t.data,
    width: t.info.width,
    height: t.info.height,
    format,
    bytes: t.data.byteLength,
  }));
}
