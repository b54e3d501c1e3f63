/**
 * Standard Webhooks signing (https://www.standardwebhooks.com): the signed content is
 * `${webhook-id}.${webhook-timestamp}.${body}`, HMAC-SHA256 with the secret's base64-decoded
 * bytes (after `whsec_`), sent as `v1,<base64>`; several signatures (a rotation's old and new
 * secret) are space separated and a receiver accepts any. WebCrypto, so it runs on every host.
 */

export const SECRET_PREFIX = "whsec_";

function toBase64(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  const raw = atob(text);
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}

/** A new secret: `whsec_` + base64 of 32 random bytes (the spec allows 24–64). */
export function generateSecret(bytes = 32): string {
  return SECRET_PREFIX + toBase64(crypto.getRandomValues(new Uint8Array(bytes)));
}

const keys = new Map<string, Promise<CryptoKey>>();
const MAX_CACHED_KEYS = 1000;

function keyFor(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    const raw = fromBase64(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret);
    key = crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    if (keys.size >= MAX_CACHED_KEYS) keys.delete(keys.keys().next().value!);
    keys.set(secret, key);
  }
  return key;
}

const encoder = new TextEncoder();

/** `v1,<base64>` for one secret. */
export async function signature(
  secret: string,
  id: string,
  timestamp: number,
  body: string,
): Promise<string> {
  const mac = await crypto.subtle.sign(
    "HMAC",
    await keyFor(secret),
    encoder.encode(`${id}.${timestamp}.${body}`),
  );
  return `v1,${toBase64(new Uint8Array(mac))}`;
}

export interface SignedHeaders {
  "webhook-id": string;
  "webhook-timestamp": string;
  "webhook-signature": string;
}

/**
 * A synchronous HMAC-SHA256 (key bytes, content) → base64 that a Node host may install
 * (node:crypto's createHmac costs ~5 µs for 1 KB where WebCrypto's promise round costs tens);
 * unset, signing uses WebCrypto, which every host has.
 */
export type HmacBase64 = (key: Uint8Array, content: string) => string;
let syncHmac: HmacBase64 | undefined;
const rawKeys = new Map<string, Uint8Array>();

export function setSyncHmac(fn: HmacBase64 | undefined): void {
  syncHmac = fn;
}

function rawKey(secret: string): Uint8Array {
  let key = rawKeys.get(secret);
  if (!key) {
    key = fromBase64(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret);
    if (rawKeys.size >= MAX_CACHED_KEYS) rawKeys.delete(rawKeys.keys().next().value!);
    rawKeys.set(secret, key);
  }
  return key;
}

/** The three Standard Webhooks headers, signed with every given secret (current first). */
export async function signedHeaders(args: {
  id: string;
  /** Unix seconds. */
  timestamp: number;
  body: string;
  secrets: readonly string[];
}): Promise<SignedHeaders> {
  const hmac = syncHmac;
  const sigs = hmac
    ? args.secrets.map((s) => `v1,${hmac(rawKey(s), `${args.id}.${args.timestamp}.${args.body}`)}`)
    : await Promise.all(args.secrets.map((s) => signature(s, args.id, args.timestamp, args.body)));
  return {
    "webhook-id": args.id,
    "webhook-timestamp": String(args.timestamp),
    "webhook-signature": sigs.join(" "),
  };
}
