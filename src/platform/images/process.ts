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
  /** `quality`: the encoder quality used (100: lossless); `psnr`: dB against the decoded pixels. */
  original: EncodedImage & { quality: number; psnr: number };
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

/** The quality floor of the stored original: PSNR against the decoded pixels, in dB. */
export const MIN_PSNR_DB = 32;

interface EncodeStep {
  quality: number;
  /** WebP near-lossless preprocessing (WebP only). */
  nearLossless?: boolean;
  lossless?: boolean;
}

function encodeStep(pipeline: Sharp, format: OutputFormat, step: EncodeStep, effort: number): Sharp {
  if (step.lossless)
    return format === "avif"
      ? pipeline.avif({ lossless: true, effort })
      : pipeline.webp({ lossless: true, effort });
  if (step.nearLossless) return pipeline.webp({ nearLossless: true, quality: step.quality, effort });
  return encoder(pipeline, format, step.quality, effort);
}

/**
 * PSNR (dB) of `encoded` against the raw pixels it was made from. Colour is compared premultiplied
 * by alpha (an encoder may change the colour of fully transparent pixels; nobody sees it), alpha
 * as itself.
 */
async function psnrAgainst(raw: { data: Buffer; info: OutputInfo }, encoded: Buffer): Promise<number> {
  const { width, height, channels } = raw.info;
  const hasAlpha = channels === 4 || channels === 2;
  const a = raw.data;
  let se = 0;
  let n = 0;
  if (!hasAlpha) {
    // The common case (photos): same channel layout, one tight loop.
    const b = (
      await sharp(encoded)
        .toColourspace(channels === 1 ? "b-w" : "srgb")
        .raw()
        .toBuffer({ resolveWithObject: true })
    ).data;
    if (b.length !== a.length) return 0;
    for (let i = 0; i < a.length; i++) {
      const d = a[i]! - b[i]!;
      se += d * d;
    }
    n = a.length;
  } else {
    const b = (await sharp(encoded).ensureAlpha().raw().toBuffer({ resolveWithObject: true })).data;
    const colour = channels - 1;
    for (let px = 0; px < width * height; px++) {
      const ia = px * channels;
      const ib = px * 4;
      const alphaA = a[ia + colour]!;
      const alphaB = b[ib + 3]!;
      for (let c = 0; c < 3; c++) {
        const d = (a[ia + (colour === 1 ? 0 : c)]! * alphaA - b[ib + c]! * alphaB) / 255;
        se += d * d;
      }
      se += (alphaA - alphaB) * (alphaA - alphaB);
      n += 4;
    }
  }
  const mse = se / n;
  return mse === 0 ? Number.POSITIVE_INFINITY : 10 * Math.log10((255 * 255) / mse);
}

/**
 * The stored original within its budget: never larger than the upload (`budget` bytes: a re-encode
 * must not grow the file) and at least MIN_PSNR_DB against the decoded pixels. First `quality`;
 * too big → step down by 10 to `minQuality`; too lossy (tiny or noisy images, where chroma
 * subsampling shows) → step up: quality 95, WebP near-lossless, lossless. The first step meeting
 * both wins; else the best-looking one within the budget; else the smallest. The input itself is
 * never stored: it may carry metadata.
 */
async function encodeWithinBudget(
  raw: { data: Buffer; info: OutputInfo },
  base: Sharp,
  format: OutputFormat,
  quality: number,
  minQuality: number,
  effort: number,
  budget: number,
): Promise<{ data: Buffer; info: OutputInfo; quality: number; psnr: number }> {
  type Tried = { data: Buffer; info: OutputInfo; quality: number; psnr: number };
  const tried: Tried[] = [];
  const attempt = async (step: EncodeStep): Promise<Tried> => {
    const out = await encodeStep(base.clone(), format, step, effort).toBuffer({ resolveWithObject: true });
    const t = { ...out, quality: step.lossless ? 100 : step.quality, psnr: await psnrAgainst(raw, out.data) };
    tried.push(t);
    return t;
  };
  const good = (t: Tried) => t.data.byteLength <= budget && t.psnr >= MIN_PSNR_DB;
  const first = await attempt({ quality });
  if (good(first)) return first;
  const steps: EncodeStep[] = [];
  if (first.psnr < MIN_PSNR_DB) {
    steps.push({ quality: Math.max(quality, 95) });
    if (format === "webp") steps.push({ quality: 60, nearLossless: true });
    steps.push({ quality: 100, lossless: true });
  } else {
    for (let q = quality - 10; q > minQuality - 10; q -= 10) steps.push({ quality: Math.max(q, minQuality) });
  }
  for (const step of steps) if (good(await attempt(step))) return tried[tried.length - 1]!;
  const within = tried.filter((t) => t.data.byteLength <= budget);
  if (within.length) return within.reduce((a, b) => (b.psnr > a.psnr ? b : a));
  return tried.reduce((a, b) => (b.data.byteLength < a.data.byteLength ? b : a));
}

/**
 * Thumbnails from one decoded image: the largest box from the pixels, each smaller one from the
 * next larger's pixels (a 600 px image, not 12 MP, is what the 300 px one reduces), so only one
 * resize touches the full image. A box the pixels already fit is encoded from them as they are
 * (no resize, no copy), and the smallest box is resized inside its encoder's pipeline: only a
 * step another box reduces from again is kept as raw pixels. Answers them in the order of `sizes`.
 */
async function thumbnailCascade(
  base: Sharp,
  dims: { width: number; height: number },
  sizes: readonly number[],
  encode: (p: Sharp) => Promise<{ data: Buffer; info: OutputInfo }>,
): Promise<Array<{ data: Buffer; info: OutputInfo }>> {
  const order = [...sizes.keys()].sort((a, b) => sizes[b]! - sizes[a]!);
  const out = new Array<Promise<{ data: Buffer; info: OutputInfo }>>(sizes.length);
  let from = base;
  let longest = Math.max(dims.width, dims.height);
  for (const [k, i] of order.entries()) {
    const size = sizes[i]!;
    if (size >= longest) {
      out[i] = encode(from.clone());
      continue;
    }
    const box = { width: size, height: size, fit: "inside" as const };
    if (k === order.length - 1) {
      out[i] = encode(from.clone().resize(box));
      break;
    }
    const step = await from.clone().resize(box).raw().toBuffer({ resolveWithObject: true });
    const { width, height, channels } = step.info;
    from = sharp(step.data, { raw: { width, height, channels: channels as 1 | 2 | 3 | 4 } });
    longest = Math.max(width, height);
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
    encodeWithinBudget(decoded, base, format, quality, minQuality, effort, input.byteLength),
    thumbnailCascade(base, decoded.info, sizes, encodeThumb),
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
      psnr: original.psnr,
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
  const thumbs = await thumbnailCascade(base, decoded.info, sizes, (p) =>
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
