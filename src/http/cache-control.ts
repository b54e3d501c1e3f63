/**
 * Cache-Control guidance (RFC 9111 §5.2.2, RFC 5861) so routes pick a policy by name instead of
 * composing directives:
 *   - `publicRead`: same answer for everyone (no Authorization involved): browsers 60 s, CDN 5 min,
 *     served stale up to 60 s while the CDN revalidates and up to a day if the origin is down.
 *   - `privateRevalidate`: tenant or user data. Only the client may store it and must revalidate
 *     each time; with our ETags that revalidation is a body-less 304 (cheap on mobile networks).
 *   - `noStore`: secrets, tokens, health.
 * Responses to requests with Authorization must not be `public` unless they are truly the same
 * for every caller: a shared cache would hand one tenant's data to another.
 */
import type { Context } from "hono";

export interface CacheControlOptions {
  scope: "public" | "private";
  /** Seconds a browser/client may reuse the response. */
  maxAge: number;
  /** Seconds a shared cache (CDN) may reuse it (public only). */
  sMaxAge?: number;
  staleWhileRevalidate?: number;
  staleIfError?: number;
  /** Always revalidate before reuse (`no-cache`), e.g. private data with ETags. */
  revalidate?: boolean;
}

export function cacheControl(o: CacheControlOptions): string {
  const parts: string[] = [o.scope];
  if (o.revalidate) parts.push("no-cache");
  parts.push(`max-age=${Math.max(0, Math.floor(o.maxAge))}`);
  if (o.scope === "public" && o.sMaxAge !== undefined) parts.push(`s-maxage=${Math.floor(o.sMaxAge)}`);
  if (o.staleWhileRevalidate) parts.push(`stale-while-revalidate=${Math.floor(o.staleWhileRevalidate)}`);
  if (o.staleIfError) parts.push(`stale-if-error=${Math.floor(o.staleIfError)}`);
  return parts.join(", ");
}

export const CACHE_POLICIES = {
  publicRead: cacheControl({
    scope: "public",
    maxAge: 60,
    sMaxAge: 300,
    staleWhileRevalidate: 60,
    staleIfError: 86_400,
  }),
  privateRevalidate: cacheControl({ scope: "private", maxAge: 0, revalidate: true }),
  noStore: "no-store",
} as const;

export type CachePolicy = keyof typeof CACHE_POLICIES;

/** Sets the named policy (or a custom one) on the response. */
export function setCacheControl(c: Context, policy: CachePolicy | CacheControlOptions): void {
  c.header("Cache-Control", typeof policy === "string" ? CACHE_POLICIES[policy] : cacheControl(policy));
}
