/**
 * Image fixtures made at test time with sharp (no binary blobs in git): a phone photo with GPS
 * EXIF, a PNG with alpha, a photo stored sideways with EXIF Orientation 6, a real decompression
 * bomb (a 20,000 × 20,000 1-bit PNG, ~50 KB compressed), a truncated JPEG, and the means to prove
 * what an output still carries (a small EXIF/TIFF reader, PSNR against a reference).
 */
import { deflateSync } from "node:zlib";
import sharp, { type Sharp } from "sharp";
import { EICAR } from "./clamd";

/** A photo-like scene: gradient, overlapping discs, mild grain — compresses like a photo. */
export async function scene(width: number, height: number, seed = 1): Promise<Sharp> {
  const discs = Array.from({ length: 12 }, (_, i) => {
    const k = seed * 31 + i * 17;
    return `<circle cx="${(k * 97) % width}" cy="${(k * 61) % height}" r="${10 + ((k * 37) % Math.max(11, Math.floor(Math.min(width, height) / 2)))}" fill="hsl(${(k * 23) % 360},60%,50%)" opacity="0.6"/>`;
  }).join("");
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="hsl(${(seed * 53) % 360},50%,60%)"/><stop offset="1" stop-color="hsl(${(seed * 101) % 360},50%,30%)"/></linearGradient></defs><rect width="100%" height="100%" fill="url(#g)"/>${discs}</svg>`;
  const grain = await sharp({
    create: {
      width,
      height,
      channels: 3,
      background: "#000",
      noise: { type: "gaussian", mean: 128, sigma: 8 },
    },
  })
    .raw()
    .toBuffer();
  const flat = await sharp(Buffer.from(svg)).removeAlpha().png().toBuffer();
  return sharp(flat).composite([{ input: grain, raw: { width, height, channels: 3 }, blend: "soft-light" }]);
}

export const GPS = {
  GPSLatitudeRef: "N",
  GPSLatitude: "48/1 51/1 2414/100",
  GPSLongitudeRef: "E",
  GPSLongitude: "2/1 17/1 4000/100",
};

/** A JPEG as a phone writes it: camera make/model, date, and GPS coordinates. */
export async function jpegWithGps(width = 640, height = 480): Promise<Buffer> {
  return (await scene(width, height, 7))
    .jpeg({ quality: 92 })
    .withExif({
      IFD0: { Make: "HorizonPhone", Model: "Test 1", Software: "fixture" },
      IFD2: { DateTimeOriginal: "2026:12:01 10:00:00" },
      IFD3: GPS,
    })
    .toBuffer();
}

/** A PNG with a transparent half. */
export async function pngWithAlpha(width = 320, height = 240): Promise<Buffer> {
  const half = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 4;
      half[o] = 200;
      half[o + 1] = (x * 255) / width;
      half[o + 2] = 40;
      half[o + 3] = x < width / 2 ? 0 : 255;
    }
  }
  return sharp(half, { raw: { width, height, channels: 4 } })
    .png()
    .toBuffer();
}

/**
 * A landscape sensor image (`width` × `height`, left half red, right half blue) stored as a phone
 * stores a portrait shot: pixels unrotated, EXIF Orientation 6 (display rotated 90° clockwise).
 */
export async function sidewaysPhoto(width = 400, height = 200): Promise<Buffer> {
  const px = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      if (x < width / 2) px[o] = 220;
      else px[o + 2] = 220;
    }
  }
  return sharp(px, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 90 })
    .withMetadata({ orientation: 6 })
    .toBuffer();
}

function crc32(buf: Buffer): number {
  let c = ~0;
  for (const byte of buf) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return ~c >>> 0;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, "latin1"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/**
 * A valid PNG of side × side black pixels, 1 bit per pixel: 20,000² is 400 megapixels (1.6 GB
 * as RGBA once decoded) in about 50 KB.
 */
export function pngBomb(side = 20_000): Buffer {
  const rowBytes = 1 + Math.ceil(side / 8); // filter byte + packed bits
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(side, 0);
  ihdr.writeUInt32BE(side, 4);
  ihdr[8] = 1; // bit depth
  ihdr[9] = 0; // grayscale
  const raw = Buffer.alloc(rowBytes * side); // all zero: filter 0, black pixels
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk("IHDR", ihdr),
    pngChunk("IDAT", deflateSync(raw, { level: 9 })),
    pngChunk("IEND", Buffer.alloc(0)),
  ]);
}

/** The first `fraction` of a real JPEG: headers intact, scan data cut off. */
export async function truncatedJpeg(fraction = 0.5): Promise<Buffer> {
  const full = await (await scene(800, 600, 3)).jpeg({ quality: 90 }).toBuffer();
  return full.subarray(0, Math.floor(full.length * fraction));
}

/** A valid JPEG that carries the EICAR string in a comment segment (COM, 0xFFFE). */
export async function jpegCarryingEicar(): Promise<Buffer> {
  const jpeg = await (await scene(64, 48, 5)).jpeg({ quality: 80 }).toBuffer();
  const len = Buffer.alloc(2);
  len.writeUInt16BE(EICAR.length + 2);
  // Right after SOI (FFD8): a comment segment is legal anywhere before the scan.
  return Buffer.concat([jpeg.subarray(0, 2), Buffer.from([0xff, 0xfe]), len, EICAR, jpeg.subarray(2)]);
}

/** A minimal valid one-page PDF; `payload` goes into its content stream. */
export function pdf(payload: Buffer = Buffer.from("BT /F1 12 Tf 72 712 Td (Horizon) Tj ET")): Buffer {
  const objects = [
    "<< /Type /Catalog /Pages 2 0 R >>",
    "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
  ];
  const parts: Buffer[] = [Buffer.from("%PDF-1.4\n")];
  const offsets: number[] = [];
  let at = parts[0]!.length;
  const push = (b: Buffer) => {
    parts.push(b);
    at += b.length;
  };
  objects.forEach((body, i) => {
    offsets.push(at);
    push(Buffer.from(`${i + 1} 0 obj\n${body}\nendobj\n`));
  });
  offsets.push(at);
  push(
    Buffer.concat([
      Buffer.from(`4 0 obj\n<< /Length ${payload.length} >>\nstream\n`),
      payload,
      Buffer.from("\nendstream\nendobj\n"),
    ]),
  );
  const xref = at;
  push(
    Buffer.from(
      `xref\n0 5\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, "0")} 00000 n \n`).join("")}trailer\n<< /Size 5 /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`,
    ),
  );
  return Buffer.concat(parts);
}

/**
 * The tags of a TIFF/EXIF block (sharp's `metadata().exif`, starting "Exif\0\0"): IFD0 tags and
 * whether a GPS IFD (tag 0x8825) with entries is present.
 */
export function readExif(exif: Buffer | undefined): { ifd0: number[]; gpsTags: number[] } {
  if (!exif) return { ifd0: [], gpsTags: [] };
  const tiff = exif.subarray(exif.subarray(0, 6).toString("latin1") === "Exif\0\0" ? 6 : 0);
  const le = tiff.subarray(0, 2).toString("latin1") === "II";
  const u16 = (o: number) => (le ? tiff.readUInt16LE(o) : tiff.readUInt16BE(o));
  const u32 = (o: number) => (le ? tiff.readUInt32LE(o) : tiff.readUInt32BE(o));
  const ifd = (offset: number) => {
    const n = u16(offset);
    return Array.from({ length: n }, (_, i) => ({
      tag: u16(offset + 2 + i * 12),
      value: u32(offset + 2 + i * 12 + 8),
    }));
  };
  const ifd0 = ifd(u32(4));
  const gps = ifd0.find((e) => e.tag === 0x8825);
  return { ifd0: ifd0.map((e) => e.tag), gpsTags: gps ? ifd(gps.value).map((e) => e.tag) : [] };
}

/**
 * Peak signal-to-noise ratio (dB) of `candidate` against `reference` (auto-rotated), both decoded
 * to RGB over white at the reference's size. ≥ 30 dB is the usual "no visible loss" bar for
 * photos; lossy web encoders at default quality land around 35–45 dB.
 */
export async function psnr(reference: Buffer, candidate: Buffer): Promise<number> {
  // Transparent pixels' colour is invisible and encoders may change it: compare over white.
  const ref = await sharp(reference)
    .rotate()
    .flatten({ background: "#ffffff" })
    .raw()
    .toBuffer({ resolveWithObject: true });
  const cand = await sharp(candidate)
    .flatten({ background: "#ffffff" })
    .resize(ref.info.width, ref.info.height, { fit: "fill" })
    .raw()
    .toBuffer();
  let se = 0;
  for (let i = 0; i < ref.data.length; i++) {
    const d = ref.data[i]! - cand[i]!;
    se += d * d;
  }
  const mse = se / ref.data.length;
  return mse === 0 ? Number.POSITIVE_INFINITY : 10 * Math.log10((255 * 255) / mse);
}
