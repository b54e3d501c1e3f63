import { describe, expect, it } from "vitest";
import { checkDeclaredType, sniff } from "../../../src/platform/images/sniff";

const b = (...parts: Array<number[] | string>) =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === "string" ? [...Buffer.from(p, "latin1")] : p)));

function ftyp(major: string, ...compatible: string[]): Uint8Array {
  const size = 16 + compatible.length * 4;
  return b([0, 0, 0, size], "ftyp", major, [0, 0, 0, 0], ...compatible, [0, 0, 0, 8], "meta");
}

describe("magic-byte sniffing", () => {
  it.each([
    ["jpeg", b([0xff, 0xd8, 0xff, 0xe0, 0, 0x10], "JFIF"), "image/jpeg"],
    ["png", b([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13], "IHDR"), "image/png"],
    ["gif87a", b("GIF87a", [1, 0, 1, 0]), "image/gif"],
    ["gif89a", b("GIF89a", [1, 0, 1, 0]), "image/gif"],
    ["webp", b("RIFF", [0x24, 0, 0, 0], "WEBPVP8 "), "image/webp"],
    ["avif major brand", ftyp("avif", "mif1", "miaf"), "image/avif"],
    ["avif sequence", ftyp("avis", "msf1"), "image/avif"],
    ["heic major brand", ftyp("heic", "mif1"), "image/heic"],
    ["heif mif1 with heic compatible", ftyp("mif1", "heic"), "image/heic"],
    ["heif mif1 with avif compatible", ftyp("mif1", "miaf", "avif"), "image/avif"],
    ["pdf", b("%PDF-1.7\n"), "application/pdf"],
  ])("%s", (_name, head, mime) => {
    expect(sniff(head)).toEqual({ kind: "known", mime });
  });

  it.each([
    ["Windows PE", b("MZ", [0x90, 0, 3, 0]), "pe-executable"],
    ["ELF", b([0x7f], "ELF", [2, 1, 1]), "elf-executable"],
    ["Mach-O 64", b([0xcf, 0xfa, 0xed, 0xfe, 7, 0, 0, 1]), "mach-o-executable"],
    ["fat Mach-O", b([0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 2]), "mach-o-executable"],
    ["shebang script", b("#!/bin/sh\nrm -rf /\n"), "script"],
    ["zip", b("PK", [3, 4, 20, 0]), "zip-archive"],
    ["empty zip", b("PK", [5, 6, 0, 0]), "zip-archive"],
  ])("%s is dangerous", (_name, head, what) => {
    expect(sniff(head)).toEqual({ kind: "dangerous", what });
  });

  it.each([
    ["empty", b()],
    ["text", b("hello world")],
    ["mp4 video (ftyp isom)", ftyp("isom", "iso2", "mp41")],
    ["truncated png signature", b([0x89, 0x50, 0x4e])],
    ["pdf header not first", b(" %PDF-1.4")],
  ])("%s is unknown", (_name, head) => {
    expect(sniff(head)).toEqual({ kind: "unknown" });
  });

  it("accepts a declaration that names the sniffed format, aliases and parameters included", () => {
    const jpeg = b([0xff, 0xd8, 0xff, 0xdb]);
    expect(checkDeclaredType(jpeg, "image/jpeg")).toEqual({ ok: true, mime: "image/jpeg" });
    expect(checkDeclaredType(jpeg, "IMAGE/JPG")).toEqual({ ok: true, mime: "image/jpeg" });
    expect(checkDeclaredType(ftyp("heic", "mif1"), "image/heif")).toEqual({ ok: true, mime: "image/heic" });
    expect(checkDeclaredType(b("%PDF-1.4"), "application/pdf; charset=binary")).toEqual({
      ok: true,
      mime: "application/pdf",
    });
  });

  it("refuses a .jpg that is a PDF, an executable, a script or an archive", () => {
    expect(checkDeclaredType(b("%PDF-1.4"), "image/jpeg")).toEqual({
      ok: false,
      reason: "mismatch",
      declared: "image/jpeg",
      actual: "application/pdf",
    });
    expect(checkDeclaredType(b("MZ", [0x90, 0]), "image/jpeg")).toMatchObject({
      ok: false,
      reason: "dangerous",
    });
    expect(checkDeclaredType(b([0x7f], "ELF"), "application/pdf")).toMatchObject({
      ok: false,
      reason: "dangerous",
    });
    expect(checkDeclaredType(b("#!/usr/bin/env node"), "image/png")).toMatchObject({
      ok: false,
      reason: "dangerous",
    });
    expect(checkDeclaredType(b("PK", [3, 4]), "application/pdf")).toMatchObject({
      ok: false,
      reason: "dangerous",
    });
  });

  it("refuses a PNG declared as JPEG and unknown bytes declared as anything", () => {
    expect(
      checkDeclaredType(b([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), "image/jpeg"),
    ).toMatchObject({
      ok: false,
      actual: "image/png",
    });
    expect(checkDeclaredType(b("X5O!P%@AP[4"), "image/jpeg")).toMatchObject({ ok: false, actual: "unknown" });
  });
});
