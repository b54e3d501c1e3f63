/**
 * What a file really is, from its first bytes, whatever its name or declared Content-Type says.
 * Processing trusts this, never the client: an upload declared `image/jpeg` whose bytes are a PDF,
 * a Windows/Linux/macOS executable, a script or a zip archive is refused before any decoder or
 * scanner sees it as an image. Pure and runtime-free (runs on Node, Bun and workerd).
 */

export type SniffedType =
  | "image/jpeg"
  | "image/png"
  | "image/gif"
  | "image/webp"
  | "image/avif"
  | "image/heic"
  | "application/pdf";

/** Formats that are never acceptable as an upload of ours, whatever was declared. */
export type DangerousKind =
  | "pe-executable"
  | "elf-executable"
  | "mach-o-executable"
  | "script"
  | "zip-archive";

export type Sniffed =
  | { kind: "known"; mime: SniffedType }
  | { kind: "dangerous"; what: DangerousKind }
  | { kind: "unknown" };

/** How many leading bytes `sniff` needs (read this much of an object, not the whole). */
export const SNIFF_BYTES = 64;

const IMAGE_TYPES: readonly SniffedType[] = [
  "image/jpeg",
  "image/png",
  "image/gif",
  "image/webp",
  "image/avif",
  "image/heic",
];

export function isImageType(mime: string): boolean {
  return (IMAGE_TYPES as readonly string[]).includes(mime);
}

function startsWith(b: Uint8Array, sig: readonly number[], at = 0): boolean {
  if (b.length < at + sig.length) return false;
  for (let i = 0; i < sig.length; i++) if (b[at + i] !== sig[i]) return false;
  return true;
}

function ascii(b: Uint8Array, from: number, to: number): string {
  let s = "";
  for (let i = from; i < Math.min(to, b.length); i++) s += String.fromCharCode(b[i]!);
  return s;
}

// ISO-BMFF brands (ISO/IEC 23008-12 for HEIF, AV1 Image File Format 1.1 for AVIF).
const AVIF_BRANDS = new Set(["avif", "avis"]);
const HEIC_BRANDS = new Set(["heic", "heix", "hevc", "hevx", "heim", "heis", "hevm", "hevs"]);
// Generic HEIF brands: the real codec is told by the compatible brands that follow.
const HEIF_GENERIC = new Set(["mif1", "msf1", "mif2"]);

function sniffFtyp(b: Uint8Array): SniffedType | null {
  // [size:4][ftyp][major:4][minor:4][compatible:4 ...]
  if (ascii(b, 4, 8) !== "ftyp") return null;
  const size = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
  const major = ascii(b, 8, 12);
  if (AVIF_BRANDS.has(major)) return "image/avif";
  if (HEIC_BRANDS.has(major)) return "image/heic";
  const end = Math.min(b.length, Math.max(size, 16));
  const compatible: string[] = [];
  for (let i = 16; i + 4 <= end; i += 4) compatible.push(ascii(b, i, i + 4));
  if (compatible.some((c) => AVIF_BRANDS.has(c))) return "image/avif";
  if (compatible.some((c) => HEIC_BRANDS.has(c))) return "image/heic";
  // mif1 alone (no codec brand) is still a HEIF still image; treat it as HEIC for policy.
  if (HEIF_GENERIC.has(major) || compatible.some((c) => HEIF_GENERIC.has(c))) return "image/heic";
  return null; // mp4, mov, 3gp...: a video container, not an image of ours
}

/** Identifies `head` (the first SNIFF_BYTES or more of a file). */
export function sniff(head: Uint8Array): Sniffed {
  const b = head;
  // Executables and archives first: they must never pass as anything else.
  if (startsWith(b, [0x4d, 0x5a])) return { kind: "dangerous", what: "pe-executable" }; // "MZ"
  if (startsWith(b, [0x7f, 0x45, 0x4c, 0x46])) return { kind: "dangerous", what: "elf-executable" };
  for (const magic of [
    [0xfe, 0xed, 0xfa, 0xce],
    [0xfe, 0xed, 0xfa, 0xcf],
    [0xce, 0xfa, 0xed, 0xfe],
    [0xcf, 0xfa, 0xed, 0xfe],
    [0xca, 0xfe, 0xba, 0xbe], // fat Mach-O (and Java class files)
  ]) {
    if (startsWith(b, magic)) return { kind: "dangerous", what: "mach-o-executable" };
  }
  if (startsWith(b, [0x23, 0x21])) return { kind: "dangerous", what: "script" }; // "#!"
  if (startsWith(b, [0x50, 0x4b, 0x03, 0x04]) || startsWith(b, [0x50, 0x4b, 0x05, 0x06])) {
    return { kind: "dangerous", what: "zip-archive" };
  }

  if (startsWith(b, [0xff, 0xd8, 0xff])) return { kind: "known", mime: "image/jpeg" };
  if (startsWith(b, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))
    return { kind: "known", mime: "image/png" };
  const gif = ascii(b, 0, 6);
  if (gif === "GIF87a" || gif === "GIF89a") return { kind: "known", mime: "image/gif" };
  if (ascii(b, 0, 4) === "RIFF" && ascii(b, 8, 12) === "WEBP") return { kind: "known", mime: "image/webp" };
  const ftyp = sniffFtyp(b);
  if (ftyp) return { kind: "known", mime: ftyp };
  // PDF readers accept the header anywhere in the first 1 KiB; we only accept it first, so a
  // polyglot (a JPEG that is also a PDF) is still judged by its leading bytes.
  if (ascii(b, 0, 5) === "%PDF-") return { kind: "known", mime: "application/pdf" };
  return { kind: "unknown" };
}

/** Declared types that name the same format as a sniffed one (image/jpg, image/heif, ...). */
const ALIASES: Record<string, SniffedType> = {
  "image/jpg": "image/jpeg",
  "image/pjpeg": "image/jpeg",
  "image/heif": "image/heic",
  "image/heic-sequence": "image/heic",
  "image/heif-sequence": "image/heic",
  "image/x-png": "image/png",
};

export function canonicalType(declared: string): string {
  const base = declared.split(";", 1)[0]!.trim().toLowerCase();
  return ALIASES[base] ?? base;
}

export type SniffVerdict =
  | { ok: true; mime: SniffedType }
  | { ok: false; reason: "dangerous"; what: DangerousKind }
  | { ok: false; reason: "mismatch"; declared: string; actual: SniffedType | "unknown" };

/**
 * Whether `head` is what `declared` says. A dangerous format is refused whatever was declared;
 * an unknown format is refused (we accept only the formats listed in SniffedType).
 */
export function checkDeclaredType(head: Uint8Array, declared: string): SniffVerdict {
  const found = sniff(head);
  if (found.kind === "dangerous") return { ok: false, reason: "dangerous", what: found.what };
  const want = canonicalType(declared);
  if (found.kind === "unknown") return { ok: false, reason: "mismatch", declared: want, actual: "unknown" };
  if (found.mime !== want) return { ok: false, reason: "mismatch", declared: want, actual: found.mime };
  return { ok: true, mime: found.mime };
}
