/**
 * Node-only side of the SSRF guard: resolve a user-given host, check every address it resolves to
 * (src/platform/net/ssrf.ts), then connect to the address that was checked — the socket's
 * `lookup` answers the checked address instead of asking DNS again, so a name that flips to
 * 127.0.0.1 between check and connect (DNS rebinding) cannot switch the target. TLS still
 * verifies the certificate for the host name (SNI = the name, not the address).
 *
 * Connections are kept alive, but only per checked address: every (scheme, host, port, address)
 * has its own keep-alive agent (`PinnedAgentPool`), so a socket is reused only by a later request
 * whose check — run again on every request, DNS included — came to the same address. A name that
 * now resolves elsewhere gets a new connection to the new (checked) address; one that now resolves
 * to a refused address is refused before any socket is looked at, warm or not.
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

export interface PinnedTarget {
  protocol: "http:" | "https:";
  /** The name (or IP literal) in the URL: the Host header and TLS server name. */
  hostname: string;
  port: number;
  /** The checked address every socket of this target connects to. */
  address: string;
  /** The TLS trust given for it (tests: a self-signed CA); part of the key. */
  ca?: string | Buffer;
}

export interface PinnedAgentPool {
  /** The keep-alive agent for one checked target, made on first use (least recently used go). */
  agentFor(target: PinnedTarget): http.Agent;
  /** Agents held now. */
  readonly size: number;
  /** Closes every connection and forgets the agents. */
  destroy(): void;
}

export interface PinnedAgentPoolOptions {
  /** Targets kept (default 256); the least recently used one's idle sockets close beyond it. */
  maxAgents?: number;
  /** Concurrent sockets per target (default 64: Web Push sends 32 at a time). */
  maxSockets?: number;
  /** Idle sockets kept per target (default: maxSockets; the idle timeout closes them). */
  maxFreeSockets?: number;
  /**
   * An idle socket closes after this long (default 4 s: under the 5 s keep-alive timeout common
   * servers use, Node's included, so we rarely write into a socket the peer is closing).
   */
  idleMs?: number;
}

const caIds = new WeakMap<object, number>();
const caStrings = new Map<string, number>();
let caCounter = 0;
/** A small stable id per CA value (a PEM string or Buffer), so the key does not hold the whole PEM. */
function caId(ca: string | Buffer | undefined): string {
  if (ca === undefined) return "";
  if (typeof ca === "string") {
    let id = caStrings.get(ca);
    if (id === undefined) {
      id = ++caCounter;
      caStrings.set(ca, id);
    }
    return `#${id}`;
  }
  let id = caIds.get(ca);
  if (id === undefined) {
    id = ++caCounter;
    caIds.set(ca, id);
  }
  return `#${id}`;
}

function destroyIdle(agent: http.Agent): void {
  for (const list of Object.values(agent.freeSockets)) for (const socket of list ?? []) socket.destroy();
}

export function createPinnedAgentPool(options: PinnedAgentPoolOptions = {}): PinnedAgentPool {
  const maxAgents = options.maxAgents ?? 256;
  const agentOptions: http.AgentOptions = {
    keepAlive: true,
    maxSockets: options.maxSockets ?? 64,
    maxFreeSockets: options.maxFreeSockets ?? options.maxSockets ?? 64,
    // Node closes a free socket idle this long (and sets it as the socket timeout, which our own
    // deadline timer makes harmless for a busy one).
    timeout: options.idleMs ?? 4000,
    scheduling: "lifo",
  };
  // Insertion order is recency: a hit moves its key to the end, eviction takes the first.
  const agents = new Map<string, http.Agent>();
  return {
    agentFor(target) {
      const key = `${target.protocol}//${target.hostname}:${target.port}@${target.address}${caId(target.ca)}`;
      let agent = agents.get(key);
      if (agent) {
        agents.delete(key);
        agents.set(key, agent);
        return agent;
      }
      agent = target.protocol === "https:" ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
      agents.set(key, agent);
      if (agents.size > maxAgents) {
        const [oldestKey, oldest] = agents.entries().next().value!;
        agents.delete(oldestKey);
        // Sockets in use finish their request; they close once idle (the agent's timeout).
        destroyIdle(oldest);
      }
      return agent;
    },
    get size() {
      return agents.size;
    },
    destroy() {
      for (const agent of agents.values()) agent.destroy();
      agents.clear();
    },
  };
}

/** The process's pool (webhooks and Web Push share it). */
export const defaultPinnedPool: PinnedAgentPool = createPinnedAgentPool();

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
  /** Where the keep-alive connections per checked address live; default: the process's pool. */
  pool?: PinnedAgentPool;
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
  const hostname = target.hostname.replace(/^\[|\]$/g, "");
  const port = Number(target.port) || (isHttps ? 443 : 80);
  // Sockets are shared only with requests whose check came to this same address.
  const agent = (req.pool ?? defaultPinnedPool).agentFor({
    protocol: isHttps ? "https:" : "http:",
    hostname,
    port,
    address,
    ca: isHttps ? req.ca : undefined,
  });

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
      hostname,
      port,
      path: `${target.pathname}${target.search}`,
      headers: req.headers,
      lookup: pinnedLookup([address]) as unknown as https.RequestOptions["lookup"],
      agent,
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
