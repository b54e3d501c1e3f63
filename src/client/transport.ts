/**
 * The one HTTP path of the SDK (REST, auth, sync, room tokens, SSE): every request carries the
 * protocol version; an authenticated request that gets a 401 refreshes the session once and is
 * sent again; GET responses are kept with their ETag and revalidated with If-None-Match (a 304
 * is answered from the kept copy, so callers always see a 200 with a body); a refused request
 * (429, 503, and for idempotent methods 5xx and a dropped connection) is retried with exponential
 * backoff and jitter, never sooner than the server's Retry-After.
 */
import { PROTOCOL_HEADER, PROTOCOL_VERSION } from "../protocol/version";
import { HorizonError, retryAfterMs } from "./errors";

export interface RetryOptions {
  /** Attempts after the first. Default 3. */
  retries?: number;
  /** First backoff ceiling, ms. Default 300. */
  baseMs?: number;
  /** Backoff ceiling, ms. Default 10 s. */
  maxMs?: number;
  /** A Retry-After longer than this is not waited for: the response goes to the caller. Default 60 s. */
  maxRetryAfterMs?: number;
}

export interface TransportHooks {
  /** The access token for a request that wants one. */
  accessToken(): Promise<string>;
  /** Called after a 401: refresh and return the new token, or null when signed out. */
  refreshAfter401(): Promise<string | null>;
  /** Identity of the caller, to keep ETag copies per user. */
  cacheScope(): string;
  onUpgradeRequired(error: HorizonError): void;
}

export interface TransportOptions extends RetryOptions {
  fetch?: typeof fetch;
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** GET responses kept for revalidation. Default 200. */
  etagEntries?: number;
}

export interface SendOptions {
  /** Attach `Authorization: Bearer` (default: when the request has none, only if `auth` is true). */
  auth?: boolean;
  /** Override the retry count (sync runs its own backoff: 0). */
  retries?: number;
}

const IDEMPOTENT = new Set(["GET", "HEAD", "PUT", "DELETE", "OPTIONS"]);

interface Kept {
  etag: string;
  body: ArrayBuffer;
  headers: [string, string][];
}

export class Transport {
  private readonly doFetch: typeof fetch;
  private readonly kept = new Map<string, Kept>();

  constructor(
    private readonly options: TransportOptions,
    private readonly hooks: TransportHooks,
  ) {
    this.doFetch = options.fetch ?? ((...args) => fetch(...args));
  }

  /** A `fetch` for other clients (openapi-fetch, sync, realtime) that goes through this transport. */
  fetchFn(send: SendOptions = {}): typeof fetch {
    return ((input: RequestInfo | URL, init?: RequestInit) =>
      this.send(new Request(input, init), send)) as typeof fetch;
  }

  async send(request: Request, options: SendOptions = {}): Promise<Response> {
    const method = request.method.toUpperCase();
    const retries = options.retries ?? this.options.retries ?? 3;
    const bodyless = method === "GET" || method === "HEAD";
    // The body is read once, so every attempt (retry, after a refresh) can send it again.
    const body = bodyless ? null : await request.arrayBuffer();
    let refreshed = false;
    const sent = new Headers(request.headers);
    for (let attempt = 0; ; attempt++) {
      const headers = new Headers(sent);
      headers.set(PROTOCOL_HEADER, String(PROTOCOL_VERSION));
      if (options.auth && !headers.has("authorization"))
        headers.set("authorization", `Bearer ${await this.hooks.accessToken()}`);
      const key =
        method === "GET" && headers.has("authorization") ? `${this.hooks.cacheScope()} ${request.url}` : null;
      const kept = key ? this.kept.get(key) : undefined;
      if (kept && !headers.has("if-none-match")) headers.set("if-none-match", kept.etag);
      let res: Response;
      try {
        res = await this.doFetch(request.url, {
          method,
          headers,
          ...(body ? { body } : {}),
          signal: request.signal,
        });
      } catch (error) {
        if (request.signal.aborted) throw error;
        // A dropped connection: an idempotent request is sent again; others surface (their
        // effect is unknown — sync ops are safe to resend and the sync client does so itself).
        if (IDEMPOTENT.has(method) && attempt < retries) {
          await this.wait(attempt, undefined);
          continue;
        }
        throw new HorizonError(
          "NETWORK_ERROR",
          `network error: ${(error as Error)?.message ?? error}`,
          0,
          null,
          undefined,
          {
            cause: error,
          },
        );
      }
      if (res.status === 401 && headers.has("authorization") && !refreshed) {
        refreshed = true;
        const token = await this.hooks.refreshAfter401().catch(() => null);
        if (token) {
          sent.set("authorization", `Bearer ${token}`);
          attempt--;
          continue;
        }
        return res;
      }
      if (res.status === 426) this.hooks.onUpgradeRequired(await HorizonError.from(res));
      if (this.retryable(res.status, method) && attempt < retries) {
        const after = retryAfterMs(res.headers.get("retry-after"), Date.now());
        if (after === undefined || after <= (this.options.maxRetryAfterMs ?? 60_000)) {
          await res.body?.cancel().catch(() => {});
          await this.wait(attempt, after);
          continue;
        }
      }
      if (key) return this.revalidated(key, res, kept);
      return res;
    }
  }

  private retryable(status: number, method: string): boolean {
    if (status === 429 || status === 503) return true;
    return IDEMPOTENT.has(method) && (status === 500 || status === 502 || status === 504);
  }

  /** Full-jitter exponential backoff, at least the server's Retry-After. */
  private wait(attempt: number, retryAfter: number | undefined): Promise<void> {
    const base = this.options.baseMs ?? 300;
    const ceiling = Math.min(this.options.maxMs ?? 10_000, base * 2 ** attempt);
    const delay = Math.max(Math.floor((this.options.random ?? Math.random)() * ceiling), retryAfter ?? 0);
    return (this.options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))))(delay);
  }

  private async revalidated(key: string, res: Response, kept: Kept | undefined): Promise<Response> {
    if (res.status === 304 && kept) {
      const headers = new Headers(kept.headers);
      for (const [k, v] of res.headers)
        if (k !== "content-length" && k !== "content-encoding") headers.set(k, v);
      headers.set("x-horizon-revalidated", "304");
      return new Response(kept.body.slice(0), { status: 200, headers });
    }
    const etag = res.headers.get("etag");
    if (res.status === 200 && etag) {
      const body = await res.arrayBuffer();
      this.kept.delete(key);
      // The body is decoded already: the kept copy must not claim an encoding or a length.
      const headers = [...res.headers].filter(([k]) => k !== "content-encoding" && k !== "content-length");
      this.kept.set(key, { etag, body, headers });
      if (this.kept.size > (this.options.etagEntries ?? 200))
        this.kept.delete(this.kept.keys().next().value!);
      return new Response(body.slice(0), {
        status: 200,
        statusText: res.statusText,
        headers: new Headers(headers),
      });
    }
    return res;
  }

  /** Forgets kept responses (sign-out). */
  clear(): void {
    this.kept.clear();
  }
}
