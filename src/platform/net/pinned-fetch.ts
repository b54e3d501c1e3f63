/**
 * Node-only side of the SSRF guard: resolve a user-given host, check every address it resolves to
 * (src/platform/net/ssrf.ts), then connect to the address that was checked — the socket's
 * `lookup` answers the checked address instead of asking DNS again, so a name that flips to
 * 127.0.0.1 between check and connect (DNS rebinding) cannot switch the target. TLS still
 * verifies the certificate for the host name (SNI = the name, not the address).
 *
 * Redirects are never followed (a 3xx is just a status to the caller), and only the first
 * `maxBodyBytes` of the response are read. Import this only from files the Node hosts load.
 */
import { promises as dns, type LookupAddress, type LookupOneOptions } from "node:dns";
import http from "node:http";
import https from "node:https";
import { isIP } from "node:net";
import {
  assertPublicUrl,
  type HostResolver,
  type OutboundPolicy,
  OutboundRefused,
  setDefaultResolver,
} from "./ssrf";

/** Every A and AAAA answer for a host, as the system resolver gives them. */
export const resolveHost: HostResolver = async (hostname) => {
  const answers = await dns.lookup(hostname, { all: true, verbatim: true });
  return answers.map((a) => a.address);
};

// Registration checks in the Node hosts resolve names too (a Worker checks shape and literals).
setDefaultResolver(resolveHost);

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/** A socket `lookup` that answers only the given (already checked) addresses. */
export function pinnedLookup(addresses: readonly string[]) {
  return (_hostname: string, options: LookupOneOptions | number | undefined, callback: LookupCallback) => {
    const all = typeof options === "object" && options !== null && (options as { all?: boolean }).all;
    const first = addresses[0]!;
    if (all)
      callback(
        null,
        addresses.map((a) => ({ address: a, family: isIP(a) })),
      );
    else callback(null, first, isIP(first));
  };
}

export interface PinnedRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  /** Whole exchange deadline (connect, send, headers, body read). Default 15 s. */
  timeoutMs?: number;
  /** Response bytes kept (default 1024); the rest is discarded. */
  maxBodyBytes?: number;
  policy: OutboundPolicy;
  /** Default: the default resolver (resolveHost). Tests hand in one that answers what they want. */
  resolve?: HostResolver;
  /** Keep-alive agents to reuse (per protocol); default: Node's global agents. */
  agents?: { http?: http.Agent; https?: https.Agent };
  /** TLS options for https targets (tests: a self-signed CA). */
  ca?: string | Buffer;
}

export interface PinnedResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The first maxBodyBytes of the body, decoded as UTF-8. */
  body: string;
  /** The address connected to. */
  address: string;
}

export class OutboundTimeout extends Error {
  constructor(readonly timeoutMs: number) {
    super(`no complete response within ${timeoutMs} ms`);
    this.name = "OutboundTimeout";
  }
}

/**
 * Checks `url` against the policy (shape, then every resolved address), then sends the request to
 * the checked address. Rejects with OutboundRefused before any connection for a refused target,
 * OutboundTimeout past the deadline, or the socket error.
 */
export async function pinnedRequest(url: string, req: PinnedRequest): Promise<PinnedResponse> {
  // No resolver given: the default one (node:dns, or what a test installed with setDefaultResolver).
  const checked = await assertPublicUrl(url, req.policy, req.resolve ? { resolve: req.resolve } : {});
  if (!checked.addresses.length)
    throw new OutboundRefused("unresolvable", `${checked.url.hostname} has no address`);
  const address = checked.addresses[0]!;
  const target = checked.url;
  const isHttps = target.protocol === "https:";
  const timeoutMs = req.timeoutMs ?? 15_000;
  const maxBody = req.maxBodyBytes ?? 1024;
  const lib = isHttps ? https : http;
  const agent = isHttps ? req.agents?.https : req.agents?.http;

  return new Promise<PinnedResponse>((resolve, reject) => {
    let settled = false;
    const finish = (err: Error | null, value?: PinnedResponse) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(value!);
    };
    const options: https.RequestOptions = {
      method: req.method ?? "POST",
      protocol: target.protocol,
      hostname: target.hostname.replace(/^\[|\]$/g, ""),
      port: target.port || (isHttps ? 443 : 80),
      path: `${target.pathname}${target.search}`,
      headers: req.headers,
      lookup: pinnedLookup([address]) as unknown as https.RequestOptions["lookup"],
      ...(agent ? { agent } : {}),
      ...(isHttps ? { servername: isIP(target.hostname) ? undefined : target.hostname, ca: req.ca } : {}),
    };
    const request = lib.request(options, (res) => {
      const chunks: Buffer[] = [];
      let kept = 0;
      res.on("data", (chunk: Buffer) => {
        if (kept < maxBody) {
          const part = chunk.subarray(0, maxBody - kept);
          chunks.push(part);
          kept += part.length;
        }
      });
      res.on("end", () =>
        finish(null, {
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString("utf8"),
          address,
        }),
      );
      res.on("error", (err) => finish(err));
    });
    const timer = setTimeout(() => {
      request.destroy(new OutboundTimeout(timeoutMs));
    }, timeoutMs);
    request.on("error", (err) => finish(err));
    if (req.body !== undefined) request.end(req.body);
    else request.end();
  });
}
