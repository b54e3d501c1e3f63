/**
 * SSRF guard for requests to URLs that users give us (webhook endpoints, Web Push endpoints):
 * only `https` on ports 443/80/8443, and only to public addresses. Loopback, RFC 1918, link-local
 * (the cloud metadata address 169.254.169.254), CGNAT, `0.0.0.0/8`, multicast, broadcast,
 * reserved, documentation, unique-local / link-local / mapped / compatible IPv6 and NAT64 or 6to4
 * wrappers of any of those are refused. An operator allowlist (OUTBOUND_ALLOW_HOSTS: `host` or
 * `host:port`) lets named hosts use http, private addresses and other ports.
 *
 * Platform-neutral (no node:dns, no node:net): the address parsing is done here by hand, and DNS
 * resolution is handed in by the caller (`resolve`), so a Worker can check URL shape and literal
 * addresses while the Node delivery side resolves, checks every answer and connects to the
 * address it checked (src/platform/net/pinned-fetch.ts), which is what defeats DNS rebinding.
 */

/** Why a target was refused; stable strings, they reach problem+json details and attempt rows. */
export type OutboundRefusalReason =
  | "invalid_url"
  | "scheme"
  | "port"
  | "credentials"
  | "private_address"
  | "unresolvable"
  | "redirect";

export class OutboundRefused extends Error {
  constructor(
    readonly reason: OutboundRefusalReason,
    message: string,
    /** The address that was refused, when one was. */
    readonly address?: string,
  ) {
    super(message);
    this.name = "OutboundRefused";
  }
}

export interface OutboundPolicy {
  /**
   * Operator allowlist, lower case: `host` (any port) or `host:port`; IPv6 literals in brackets
   * (`[::1]:8080`). A listed target may be plain http, a private address and any port.
   */
  allowHosts: readonly string[];
  /** Ports open to every public host (default 443, 80, 8443). */
  ports?: readonly number[];
}

export const DEFAULT_OUTBOUND_PORTS: readonly number[] = [443, 80, 8443];

/** Resolves a host name to every address it has (A and AAAA). */
export type HostResolver = (hostname: string) => Promise<string[]>;

let defaultResolver: HostResolver | undefined;

/**
 * The resolver `assertPublicUrl` uses when the caller passes none. The Node hosts set it (loading
 * ./pinned-fetch.ts sets node:dns); a Worker has none and checks URL shape and literals only.
 */
export function setDefaultResolver(resolve: HostResolver | undefined): void {
  defaultResolver = resolve;
}

/** `OUTBOUND_ALLOW_HOSTS` (comma separated) → a policy. */
export function outboundPolicyFrom(config: {
  OUTBOUND_ALLOW_HOSTS?: readonly string[] | string;
}): OutboundPolicy {
  const raw = config.OUTBOUND_ALLOW_HOSTS ?? [];
  const list = typeof raw === "string" ? raw.split(",") : raw;
  return {
    allowHosts: list.map((s) => s.trim().toLowerCase()).filter(Boolean),
  };
}

export type AddressClass =
  | "public"
  | "unspecified"
  | "loopback"
  | "private"
  | "link-local"
  | "cgnat"
  | "multicast"
  | "broadcast"
  | "reserved"
  | "documentation"
  | "unique-local"
  | "mapped"
  | "invalid";

/** Parses a dotted-quad IPv4 address (strict: four decimal parts 0–255) into a 32-bit number. */
export function parseIPv4(text: string): number | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return null;
    const v = Number(p);
    if (v > 255) return null;
    n = n * 256 + v;
  }
  return n;
}

/** Parses an IPv6 address (with `::`, an IPv4 tail; no zone id) into eight 16-bit groups. */
export function parseIPv6(text: string): number[] | null {
  let s = text;
  if (s.startsWith("[") && s.endsWith("]")) s = s.slice(1, -1);
  if (!s.includes(":") || s.includes("%")) return null;
  let tail: number[] = [];
  const lastColon = s.lastIndexOf(":");
  const last = s.slice(lastColon + 1);
  if (last.includes(".")) {
    const v4 = parseIPv4(last);
    if (v4 === null) return null;
    tail = [Math.floor(v4 / 65536), v4 % 65536];
    // The dotted tail stands for two groups: parse placeholders, overwrite them below.
    s = `${s.slice(0, lastColon + 1)}0:0`;
  }
  const halves = s.split("::");
  if (halves.length > 2) return null;
  const parseGroups = (h: string): number[] | null => {
    if (h === "") return [];
    const out: number[] = [];
    for (const g of h.split(":")) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      out.push(Number.parseInt(g, 16));
    }
    return out;
  };
  const head = parseGroups(halves[0]!);
  const rest = halves.length === 2 ? parseGroups(halves[1]!) : [];
  if (!head || !rest) return null;
  let groups: number[];
  if (halves.length === 2) {
    const missing = 8 - head.length - rest.length;
    if (missing < 1) return null;
    groups = [...head, ...new Array<number>(missing).fill(0), ...rest];
  } else {
    groups = head;
  }
  if (groups.length !== 8) return null;
  if (tail.length) {
    groups[6] = tail[0]!;
    groups[7] = tail[1]!;
  }
  return groups;
}

const inV4 = (ip: number, base: string, bits: number): boolean => {
  const b = parseIPv4(base)!;
  const size = 2 ** (32 - bits);
  return Math.floor(ip / size) === Math.floor(b / size);
};

/** Classifies a 32-bit IPv4 address. Only "public" may be contacted. */
export function classifyIPv4(ip: number): AddressClass {
  if (ip === 0xffffffff) return "broadcast";
  if (inV4(ip, "0.0.0.0", 8)) return "unspecified";
  if (inV4(ip, "127.0.0.0", 8)) return "loopback";
  if (inV4(ip, "10.0.0.0", 8) || inV4(ip, "172.16.0.0", 12) || inV4(ip, "192.168.0.0", 16)) return "private";
  if (inV4(ip, "169.254.0.0", 16)) return "link-local";
  if (inV4(ip, "100.64.0.0", 10)) return "cgnat";
  if (inV4(ip, "224.0.0.0", 4)) return "multicast";
  if (inV4(ip, "192.0.2.0", 24) || inV4(ip, "198.51.100.0", 24) || inV4(ip, "203.0.113.0", 24)) {
    return "documentation";
  }
  if (
    inV4(ip, "240.0.0.0", 4) || // reserved (future use)
    inV4(ip, "192.0.0.0", 24) || // IETF protocol assignments
    inV4(ip, "192.88.99.0", 24) || // 6to4 relay anycast
    inV4(ip, "198.18.0.0", 15) // benchmarking
  ) {
    return "reserved";
  }
  return "public";
}

const v4FromGroups = (hi: number, lo: number): number => hi * 65536 + lo;

/** Classifies an IPv6 address given as eight groups. Only global unicast (2000::/3) can be public. */
export function classifyIPv6(g: readonly number[]): AddressClass {
  const zeroUpTo = (n: number) => g.slice(0, n).every((x) => x === 0);
  if (zeroUpTo(8)) return "unspecified";
  if (zeroUpTo(7) && g[7] === 1) return "loopback";
  // ::ffff:a.b.c.d (mapped), ::ffff:0:a.b.c.d (SIIT), ::a.b.c.d (compatible): a v4 in disguise.
  if (zeroUpTo(5) && g[5] === 0xffff) return "mapped";
  if (zeroUpTo(4) && g[4] === 0xffff && g[5] === 0) return "mapped";
  if (zeroUpTo(6)) return "mapped";
  // NAT64 well-known prefix 64:ff9b::/96: the gateway connects to the embedded v4.
  if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0)) {
    return classifyIPv4(v4FromGroups(g[6]!, g[7]!));
  }
  // Local-use NAT64 64:ff9b:1::/48: whatever it embeds is the operator's network.
  if (g[0] === 0x64 && g[1] === 0xff9b && g[2] === 1) return "private";
  const first = g[0]!;
  if ((first & 0xff00) === 0xff00) return "multicast";
  if ((first & 0xfe00) === 0xfc00) return "unique-local";
  if ((first & 0xffc0) === 0xfe80) return "link-local";
  if ((first & 0xffc0) === 0xfec0) return "unique-local"; // deprecated site-local
  if ((first & 0xe000) !== 0x2000) return "reserved"; // outside global unicast 2000::/3
  if (first === 0x2001 && g[1] === 0x0db8) return "documentation";
  if (first === 0x3fff && (g[1]! & 0xf000) === 0) return "documentation"; // 3fff::/20
  // 6to4 2002::/16 embeds a v4 in groups 1–2: judged by it.
  if (first === 0x2002) return classifyIPv4(v4FromGroups(g[1]!, g[2]!));
  // Teredo 2001::/32 hides a v4 (obfuscated) and ORCHID / benchmarking 2001:2::/48, 2001:10::/28.
  if (
    first === 0x2001 &&
    (g[1] === 0 || g[1] === 2 || (g[1]! & 0xfff0) === 0x10 || (g[1]! & 0xfff0) === 0x20)
  ) {
    return "reserved";
  }
  return "public";
}

/** Classifies an IP literal (v4 dotted quad, v6 with or without brackets); "invalid" for anything else. */
export function classifyAddress(address: string): AddressClass {
  const v4 = parseIPv4(address);
  if (v4 !== null) return classifyIPv4(v4);
  const v6 = parseIPv6(address);
  if (v6) return classifyIPv6(v6);
  return "invalid";
}

export function isPublicAddress(address: string): boolean {
  return classifyAddress(address) === "public";
}

/** True when `hostname` is an IP literal (the URL parser's form: v6 in brackets). */
export function isIpLiteral(hostname: string): boolean {
  return parseIPv4(hostname) !== null || parseIPv6(hostname) !== null;
}

export interface CheckedTarget {
  url: URL;
  /** The host name without IPv6 brackets. */
  host: string;
  port: number;
  /** The operator allowlisted this target: http, private addresses and any port are fine. */
  allowlisted: boolean;
}

function defaultPort(url: URL): number {
  return url.port ? Number(url.port) : url.protocol === "https:" ? 443 : 80;
}

function allowlisted(policy: OutboundPolicy, url: URL, port: number): boolean {
  const host = url.hostname.toLowerCase();
  return policy.allowHosts.some((entry) => entry === host || entry === `${host}:${port}`);
}

/**
 * What can be checked without DNS: the URL parses, is https (or http for an allowlisted host),
 * carries no credentials, uses an allowed port, and an IP literal is public. Throws OutboundRefused.
 * The WHATWG parser already normalises odd IPv4 spellings (`0x7f.1`, `2130706433`) to dotted quads.
 */
export function checkOutboundUrl(input: string | URL, policy: OutboundPolicy): CheckedTarget {
  let url: URL;
  try {
    url = new URL(String(input));
  } catch {
    throw new OutboundRefused("invalid_url", "not an absolute URL");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new OutboundRefused("scheme", `scheme ${url.protocol.replace(/:$/, "")} is not allowed`);
  }
  if (url.username || url.password) {
    throw new OutboundRefused("credentials", "URLs with credentials are not allowed");
  }
  const port = defaultPort(url);
  const listed = allowlisted(policy, url, port);
  if (!listed) {
    if (url.protocol !== "https:") {
      throw new OutboundRefused("scheme", "only https is allowed (http only for allowlisted hosts)");
    }
    if (!(policy.ports ?? DEFAULT_OUTBOUND_PORTS).includes(port)) {
      throw new OutboundRefused("port", `port ${port} is not allowed`);
    }
  }
  const host = url.hostname.replace(/^\[|\]$/g, "");
  if (!host) throw new OutboundRefused("invalid_url", "the URL has no host");
  if (!listed && isIpLiteral(host)) {
    const cls = classifyAddress(host);
    if (cls !== "public") throw new OutboundRefused("private_address", `address ${host} is ${cls}`, host);
  }
  return { url, host, port, allowlisted: listed };
}

/** Every resolved address must be public (unless allowlisted); at least one must exist. */
export function checkResolvedAddresses(target: CheckedTarget, addresses: readonly string[]): string[] {
  if (!addresses.length) throw new OutboundRefused("unresolvable", `${target.host} has no address`);
  if (target.allowlisted) return [...addresses];
  for (const a of addresses) {
    const cls = classifyAddress(a);
    if (cls !== "public") {
      throw new OutboundRefused("private_address", `${target.host} resolves to ${a} (${cls})`, a);
    }
  }
  return [...addresses];
}

/**
 * Full check: URL shape, then the addresses the name resolves to (all must be public). With no
 * resolver (a Worker) a host name passes on shape alone and `addresses` is empty: the delivery
 * side resolves again before it connects anyway.
 */
export async function assertPublicUrl(
  input: string | URL,
  policy: OutboundPolicy,
  options: { resolve?: HostResolver } = {},
): Promise<{ url: URL; addresses: string[]; allowlisted: boolean }> {
  const target = checkOutboundUrl(input, policy);
  if (isIpLiteral(target.host)) {
    return { url: target.url, addresses: [target.host], allowlisted: target.allowlisted };
  }
  const resolve = options.resolve ?? defaultResolver;
  if (!resolve) return { url: target.url, addresses: [], allowlisted: target.allowlisted };
  let addresses: string[];
  try {
    addresses = await resolve(target.host);
  } catch (err) {
    throw new OutboundRefused("unresolvable", `${target.host} does not resolve (${(err as Error).message})`);
  }
  return {
    url: target.url,
    addresses: checkResolvedAddresses(target, addresses),
    allowlisted: target.allowlisted,
  };
}
