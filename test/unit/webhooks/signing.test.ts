/**
 * Our Standard Webhooks signer against the reference library: WebCrypto (every host) and the
 * node:crypto HMAC the Node hosts install give the same headers, which `standardwebhooks` verifies.
 */
import { createHmac } from "node:crypto";
import { Webhook } from "standardwebhooks";
import { afterEach, describe, expect, it } from "vitest";
import { generateSecret, setSyncHmac, signedHeaders } from "../../../src/modules/webhooks/signing";

describe("Standard Webhooks signing", () => {
  afterEach(() => setSyncHmac(undefined));

  it("WebCrypto and node:crypto sign the same bytes, and the reference verifier accepts both", async () => {
    const secrets = [generateSecret(), generateSecret(64)];
    expect(secrets[0]).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    const args = {
      id: crypto.randomUUID(),
      timestamp: Math.floor(Date.now() / 1000),
      body: JSON.stringify({ type: "ping", timestamp: new Date().toISOString(), data: { t: "שלום 👋" } }),
      secrets,
    };
    setSyncHmac(undefined);
    const web = await signedHeaders(args);
    setSyncHmac((key, content) => createHmac("sha256", key).update(content).digest("base64"));
    const node = await signedHeaders(args);
    expect(node).toEqual(web);
    expect(web["webhook-signature"].split(" ")).toHaveLength(2);
    for (const secret of secrets) expect(new Webhook(secret).verify(args.body, { ...web })).toBeTruthy();
    expect(() => new Webhook(generateSecret()).verify(args.body, { ...web })).toThrow(/signature/i);
    expect(() => new Webhook(secrets[0]!).verify(`${args.body} `, { ...web })).toThrow(/signature/i);
  });
});
