/**
 * The SSRF guard: address classification, URL checks and the pinned request. Only loopback is
 * ever contacted: the private, link-local and metadata addresses are refused before any socket.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pinnedRequest } from "../../../src/platform/net/pinned-fetch";
import {
  assertPublicUrl,
  checkOutboundUrl,
  classifyAddress,
  OutboundRefused,
  outboundPolicyFrom,
  parseIPv6,
} from "../../../src/platform/net/ssrf";

describe("address classification", () => {
  it.each([
    ["127.0.0.1", "loopback"],
    ["127.255.0.9", "loopback"],
    ["10.0.0.1", "private"],
    ["172.16.5.4", "private"],
    ["172.31.255.255", "private"],
    ["192.168.1.1", "private"],
    ["169.254.169.254", "link-local"],
    ["100.64.0.1", "cgnat"],
    ["100.127.255.254", "cgnat"],
    ["0.0.0.0", "unspecified"],
    ["0.1.2.3", "unspecified"],
    ["224.0.0.1", "multicast"],
    ["239.255.255.250", "multicast"],
    ["255.255.255.255", "broadcast"],
    ["240.0.0.1", "reserved"],
    ["198.18.0.1", "reserved"],
    ["192.0.2.1", "documentation"],
    ["::1", "loopback"],
    ["[::1]", "loopback"],
    ["::", "unspecified"],
    ["fc00::1", "unique-local"],
    ["fd12:3456::1", "unique-local"],
    ["fe80::1", "link-local"],
    ["febf::1", "link-local"],
    ["ff02::1", "multicast"],
    ["::ffff:127.0.0.1", "mapped"],
    ["::ffff:7f00:1", "mapped"],
    ["::ffff:8.8.8.8", "mapped"],
    ["::127.0.0.1", "mapped"],
    ["64:ff9b::127.0.0.1", "loopback"],
    ["64:ff9b::a9fe:a9fe", "link-local"],
    ["64:ff9b::10.1.2.3", "private"],
    ["2002:7f00:1::1", "loopback"],
    ["2002:c0a8:101::1", "private"],
    ["2001:db8::1", "documentation"],
    ["2001:0:4136:e378::1", "reserved"],
    ["not-an-ip", "invalid"],
    ["1.2.3", "invalid"],
    ["fe80::1%eth0", "invalid"],
  ])("%s is %s", (ip, cls) => {
    expect(classifyAddress(ip)).toBe(cls);
  });

  it.each([
    "8.8.8.8",
    "1.1.1.1",
    "172.32.0.1",
    "100.128.0.1",
    "2606:4700:4700::1111",
    "64:ff9b::8.8.8.8",
    "2002:808:808::1",
  ])("%s is public", (ip) => {
    expect(classifyAddress(ip)).toBe("public");
  });

  it("parses IPv6 forms to the same groups", () => {
    expect(parseIPv6("::ffff:127.0.0.1")).toEqual(parseIPv6("0:0:0:0:0:ffff:7f00:0001"));
    expect(parseIPv6("1::2:3")).toEqual([1, 0, 0, 0, 0, 0, 2, 3]);
    expect(parseIPv6("1:2:3:4:5:6:7:8:9")).toBeNull();
    expect(parseIPv6("1::2::3")).toBeNull();
  });
});

const noAllow = outboundPolicyFrom({ OUTBOUND_ALLOW_HOSTS: "" });

function reason(fn: () => unknown): string | null {
  try {
    fn();
    return null;
  } catch (err) {
    return err instanceof OutboundRefused ? err.reason : `other: ${String(err)}`;
  }
}

describe("URL checks", () => {
  it.each([
    ["https://127.0.0.1/hook", "private_address"],
    ["https://[::1]/hook", "private_address"],
    ["https://169.254.169.254/latest/meta-data/", "private_address"],
    ["https://10.0.0.1/", "private_address"],
    ["https://[::ffff:127.0.0.1]/", "private_address"],
    ["https://0x7f.1/", "private_address"],
    ["https://2130706433/", "private_address"],
    ["https://0/", "private_address"],
    ["http://example.com/", "scheme"],
    ["ftp://example.com/", "scheme"],
    ["https://example.com:22/", "port"],
    ["https://user:pw@example.com/", "credentials"],
    ["not a url", "invalid_url"],
  ])("%s is refused (%s)", (url, why) => {
    expect(reason(() => checkOutboundUrl(url, noAllow))).toBe(why);
  });

  it.each(["https://example.com/hook", "https://example.com:8443/x", "https://8.8.8.8/"])(
    "%s passes",
    (url) => {
      expect(reason(() => checkOutboundUrl(url, noAllow))).toBeNull();
    },
  );

  it("an allowlisted host:port may be http, loopback and any port; the same host on another port may not", () => {
    const policy = outboundPolicyFrom({ OUTBOUND_ALLOW_HOSTS: "127.0.0.1:9999, hooks.internal" });
    expect(checkOutboundUrl("http://127.0.0.1:9999/x", policy).allowlisted).toBe(true);
    expect(reason(() => checkOutboundUrl("http://127.0.0.1:9998/x", policy))).toBe("scheme");
    expect(reason(() => checkOutboundUrl("https://127.0.0.1/x", policy))).toBe("private_address");
    expect(checkOutboundUrl("http://hooks.internal:1234/", policy).allowlisted).toBe(true);
  });

  it("a name resolving to any private address is refused", async () => {
    const resolve = async (host: string) =>
      host === "rebind.test" ? ["93.184.216.34", "127.0.0.1"] : ["93.184.216.34"];
    await expect(assertPublicUrl("https://rebind.test/", noAllow, { resolve })).rejects.toMatchObject({
      reason: "private_address",
      address: "127.0.0.1",
    });
    await expect(assertPublicUrl("https://ok.test/", noAllow, { resolve })).resolves.toMatchObject({
      addresses: ["93.184.216.34"],
    });
    await expect(
      assertPublicUrl("https://gone.test/", noAllow, {
        resolve: async () => {
          throw new Error("ENOTFOUND");
        },
      }),
    ).rejects.toMatchObject({ reason: "unresolvable" });
  });
});

describe("pinned request", () => {
  let server: http.Server;
  let port: number;
  const seen: string[] = [];
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      seen.push(`${req.method} ${req.url} host=${req.headers.host}`);
      if (req.url === "/redirect") {
        res.writeHead(302, { location: `http://127.0.0.1:${port}/secret` });
        res.end();
        return;
      }
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("x".repeat(5000));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it("connects to the checked address even when the name would resolve elsewhere later", async () => {
    const policy = outboundPolicyFrom({ OUTBOUND_ALLOW_HOSTS: `receiver.test:${port}` });
    let calls = 0;
    // First answer (checked) is loopback, allowlisted; a rebinding resolver would answer a public
    // address next, which must never be asked for: the socket uses the checked answer.
    const resolve = async () => (++calls === 1 ? ["127.0.0.1"] : ["203.0.113.9"]);
    const res = await pinnedRequest(`http://receiver.test:${port}/hook`, { policy, resolve, body: "{}" });
    expect(res.status).toBe(200);
    expect(res.address).toBe("127.0.0.1");
    expect(res.body.length).toBe(1024);
    expect(calls).toBe(1);
    expect(seen.at(-1)).toBe(`POST /hook host=receiver.test:${port}`);
  });

  it("does not follow a redirect (to loopback or anywhere)", async () => {
    const policy = outboundPolicyFrom({ OUTBOUND_ALLOW_HOSTS: `127.0.0.1:${port}` });
    const before = seen.length;
    const res = await pinnedRequest(`http://127.0.0.1:${port}/redirect`, { policy });
    expect(res.status).toBe(302);
    expect(seen.slice(before)).toEqual([`POST /redirect host=127.0.0.1:${port}`]);
  });

  it("refuses localhost (resolves to loopback) before connecting", async () => {
    const before = seen.length;
    await expect(pinnedRequest(`https://localhost:443/`, { policy: noAllow })).rejects.toMatchObject({
      reason: "private_address",
    });
    expect(seen.length).toBe(before);
  });
});
