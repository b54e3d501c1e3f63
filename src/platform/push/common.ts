/** Helpers the provider adapters share (edge-safe). */
import { PushRejectedError } from "./index";
import { fitNotification, PAYLOAD_LIMIT_BYTES, utf8Bytes } from "./truncate";

/** Title and body fitted into `limit` bytes of `render(title, body)`; rejects when even empty texts do not fit. */
export function fitted(
  provider: string,
  title: string,
  body: string,
  render: (title: string, body: string) => string,
  limit = PAYLOAD_LIMIT_BYTES,
): { title: string; body: string; payload: string } {
  const fit = fitNotification(title, body, (t, b) => utf8Bytes(render(t, b)), limit);
  if (!fit) throw new PushRejectedError(provider, `data alone exceeds ${limit} bytes`);
  return { title: fit.title, body: fit.body, payload: render(fit.title, fit.body) };
}

/** Retry-After (seconds or an HTTP date) in ms, when present. */
export function retryAfterMs(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
