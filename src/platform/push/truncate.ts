/**
 * Fitting a notification into a provider's payload limit (Web Push, FCM and APNs all take about
 * 4 KB). Texts are cut on a boundary a reader cannot see: never inside a grapheme cluster (so never
 * between the halves of a surrogate pair, an emoji sequence or a letter and its combining marks),
 * and never inside a bidi isolate: an FSI/LRI/RLI … PDI fragment (how localized Hebrew wraps
 * apartment numbers, amounts and names) is kept whole or dropped whole, so a cut text still has
 * balanced isolates and the rest of the line keeps its direction.
 */

/** Every provider's ceiling on what we hand it (Web Push: the encrypted record, see webpush.ts). */
export const PAYLOAD_LIMIT_BYTES = 4096;

export const ELLIPSIS = "\u2026";
const PDI = 0x2069;
const isIsolateOpen = (c: number) => c === 0x2066 || c === 0x2067 || c === 0x2068;

/** UTF-8 length of `s` as TextEncoder writes it (a lone surrogate becomes U+FFFD, 3 bytes). */
export function utf8Bytes(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

let segmenter: Intl.Segmenter | undefined;

/**
 * `s` as the units a cut may fall between: grapheme clusters, except that a bidi isolate from its
 * initiator to the matching PDI (nesting counted) is one unit. An initiator without a matching PDI
 * stands alone, as does a stray PDI: the input was unbalanced and stays as it was.
 *
 * `maxChars`: only prefixes up to this many UTF-16 code units matter to the caller (every code
 * unit is at least one UTF-8 byte, so a byte budget is also a length budget): segmentation stops
 * past it and the rest of the text becomes one last unit, which never fits. A 100 KB body costs
 * what its first 4 KB cost.
 */
export function cutUnits(s: string, maxChars = Number.POSITIVE_INFINITY): string[] {
  segmenter ??= new Intl.Segmenter(undefined, { granularity: "grapheme" });
  const graphemes: string[] = [];
  let seen = 0;
  let complete = true;
  for (const g of segmenter.segment(s)) {
    if (seen > maxChars) {
      complete = false;
      break;
    }
    graphemes.push(g.segment);
    seen += g.segment.length;
  }
  const out: string[] = [];
  let used = 0;
  for (let i = 0; i < graphemes.length; i++) {
    const g = graphemes[i]!;
    if (g.length === 1 && isIsolateOpen(g.charCodeAt(0))) {
      let depth = 0;
      let end = -1;
      for (let j = i; j < graphemes.length; j++) {
        const h = graphemes[j]!;
        if (h.length !== 1) continue;
        const c = h.charCodeAt(0);
        if (isIsolateOpen(c)) depth++;
        else if (c === PDI && --depth === 0) {
          end = j;
          break;
        }
      }
      if (end === -1 && !complete) {
        // Its PDI may lie in the part not segmented: the isolate and the rest stay one unit.
        out.push(s.slice(used));
        return out;
      }
      if (end !== -1) {
        const unit = graphemes.slice(i, end + 1).join("");
        out.push(unit);
        used += unit.length;
        i = end;
        continue;
      }
    }
    out.push(g);
    used += g.length;
  }
  if (!complete) out.push(s.slice(used));
  return out;
}

/**
 * The longest prefix of `text` (in cut units) that, with an ellipsis appended, satisfies `fits`;
 * `text` itself when it fits whole; "" when not even one unit does. `fits` must be monotone (a
 * longer text never fits where a shorter one does not), which a byte size is.
 */
export function truncateText(
  text: string,
  fits: (candidate: string) => boolean,
  maxChars = Number.POSITIVE_INFINITY,
): string {
  if (fits(text)) return text;
  const units = cutUnits(text, maxChars);
  // Binary search the number of units kept: lo fits (0 always counts as "nothing"), hi does not.
  let lo = 0;
  let hi = units.length;
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    if (fits(units.slice(0, mid).join("") + ELLIPSIS)) lo = mid;
    else hi = mid;
  }
  return lo === 0 ? "" : units.slice(0, lo).join("") + ELLIPSIS;
}

/**
 * Title and body cut so that `size(title, body)` (the provider's serialized payload, in bytes)
 * is at most `limit`: the body gives way first, then the title. Null when even an empty title
 * and body do not fit (the data map alone is too large): the message cannot be sent.
 */
export function fitNotification(
  title: string,
  body: string,
  size: (title: string, body: string) => number,
  limit: number = PAYLOAD_LIMIT_BYTES,
): { title: string; body: string; truncated: boolean } | null {
  if (size(title, body) <= limit) return { title, body, truncated: false };
  if (size(title, "") <= limit) {
    return { title, body: truncateText(body, (b) => size(title, b) <= limit, limit), truncated: true };
  }
  if (size("", "") > limit) return null;
  return { title: truncateText(title, (t) => size(t, "") <= limit, limit), body: "", truncated: true };
}
