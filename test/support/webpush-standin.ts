/**
 * A Web Push service stand-in (RFC 8030) over real HTTPS (self-signed): it hands out
 * subscriptions the way a browser's push service does (an endpoint URL, the user agent's P-256
 * public key and auth secret, bound to one application server key), and for each push it
 *  - checks the VAPID authorization (RFC 8292): `vapid t=<ES256 JWT>, k=<key>`, the key equal to
 *    the one the subscription was made for, the signature, `aud` = the endpoint's origin, `exp`
 *    in the future and at most 24 h away, a `sub` contact;
 *  - DECRYPTS the aes128gcm body (RFC 8188 + RFC 8291) with the subscription's private key and
 *    auth secret, so a test compares what the service worker would see with what was sent;
 *  - answers 201 with a Location, or what the test asked for (404/410 gone, 429/5xx).
 */
import { createDecipheriv, createECDH, hkdfSync, randomBytes } from "node:crypto";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { importJWK, jwtVerify } from "jose";
import { selfSignedCert } from "./tls-cert";

export interface ReceivedPush {
  subscriptionId: string;
  headers: Record<string, string | undefined>;
  /** The decrypted plaintext. */
  text: string;
  /** The VAPID JWT's claims. */
  claims: Record<string, unknown>;
}

interface Subscription {
  id: string;
  ecdh: ReturnType<typeof createECDH>;
  auth: Buffer;
  applicationServerKey: string;
  answer?: number;
}

const b64u = (b: Buffer) => b.toString("base64url");

/** RFC 8291 §3.4 / RFC 8188 §2: the plaintext of a single-record aes128gcm body. */
export function decryptAes128gcm(
  body: Buffer,
  uaPrivate: ReturnType<typeof createECDH>,
  authSecret: Buffer,
): Buffer {
  const salt = body.subarray(0, 16);
  const rs = body.readUInt32BE(16);
  const idlen = body[20]!;
  const asPublic = body.subarray(21, 21 + idlen);
  const ciphertext = body.subarray(21 + idlen);
  if (idlen !== 65) throw new Error(`keyid must be the 65-byte sender key, got ${idlen}`);
  if (ciphertext.length > rs) throw new Error("more than one record");
  const ecdhSecret = uaPrivate.computeSecret(asPublic);
  const uaPublic = uaPrivate.getPublicKey();
  const keyInfo = Buffer.concat([Buffer.from("WebPush: info\0"), uaPublic, asPublic]);
  const ikm = Buffer.from(hkdfSync("sha256", ecdhSecret, authSecret, keyInfo, 32));
  const cek = Buffer.from(hkdfSync("sha256", ikm, salt, Buffer.from("Content-Encoding: aes128gcm\0"), 16));
  const nonce = Buffer.from(hkdfSync("sha256", ikm, salt, Buffer.from("Content-Encoding: nonce\0"), 12));
  const decipher = createDecipheriv("aes-128-gcm", cek, nonce);
  decipher.setAuthTag(ciphertext.subarray(ciphertext.length - 16));
  const padded = Buffer.concat([
    decipher.update(ciphertext.subarray(0, ciphertext.length - 16)),
    decipher.final(),
  ]);
  // Last record: data, then the delimiter 0x02, then zero padding.
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end--;
  if (padded[end] !== 2) throw new Error("last record delimiter missing");
  return padded.subarray(0, end);
}

async function verifyVapid(authorization: string | undefined, applicationServerKey: string, origin: string) {
  const m = /^vapid t=([^,\s]+),\s*k=([A-Za-z0-9_-]+)$/.exec(authorization ?? "");
  if (!m) throw new Error(`no vapid authorization: ${authorization}`);
  const [, jwt, k] = m;
  if (k !== applicationServerKey) throw new Error("k is not the subscription's application server key");
  const raw = Buffer.from(k!, "base64url");
  if (raw.length !== 65 || raw[0] !== 4) throw new Error("k is not an uncompressed P-256 point");
  const key = await importJWK(
    { kty: "EC", crv: "P-256", x: b64u(raw.subarray(1, 33)), y: b64u(raw.subarray(33)) },
    "ES256",
  );
  const { payload, protectedHeader } = await jwtVerify(jwt!, key, {
    audience: origin,
    algorithms: ["ES256"],
  });
  if (protectedHeader.typ !== "JWT") throw new Error("typ must be JWT");
  const now = Math.floor(Date.now() / 1000);
  if (typeof payload.exp !== "number" || payload.exp > now + 24 * 3600)
    throw new Error("exp must be within 24 h");
  if (typeof payload.sub !== "string" || !/^(mailto:|https:)/.test(payload.sub))
    throw new Error("sub missing");
  return payload as Record<string, unknown>;
}

export async function startWebPushStandin() {
  const tls = selfSignedCert();
  const subs = new Map<string, Subscription>();
  const received: ReceivedPush[] = [];
  const refused: Array<{ subscriptionId: string; reason: string }> = [];
  /** Answers for the next requests to any subscription (429, 503...), consumed in order. */
  const nextAnswers: number[] = [];
  let requests = 0;

  const server: Server = createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    requests++;
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      const id = /^\/push\/([\w-]+)$/.exec(req.url ?? "")?.[1] ?? "";
      const sub = subs.get(id);
      const reply = (status: number, body = "", headers: Record<string, string> = {}) => {
        res.writeHead(status, headers);
        res.end(body);
      };
      if (req.method !== "POST") return reply(405);
      if (!sub || sub.answer === 410 || sub.answer === 404)
        return reply(sub?.answer ?? 404, "push subscription has unsubscribed or expired.");
      const forced = nextAnswers.shift();
      if (forced) return reply(forced, "stand-in told to fail", forced === 429 ? { "retry-after": "1" } : {});
      try {
        if (req.headers["content-encoding"] !== "aes128gcm")
          throw new Error("Content-Encoding must be aes128gcm");
        if (!/^\d+$/.test(String(req.headers.ttl ?? ""))) throw new Error("TTL header required");
        const claims = await verifyVapid(
          req.headers.authorization,
          sub.applicationServerKey,
          `https://${req.headers.host}`,
        );
        const body = Buffer.concat(chunks);
        if (body.length > 4096) return reply(413, "payload too large");
        const text = decryptAes128gcm(body, sub.ecdh, sub.auth).toString("utf8");
        received.push({
          subscriptionId: id,
          headers: {
            ttl: req.headers.ttl as string | undefined,
            urgency: req.headers.urgency as string | undefined,
            topic: req.headers.topic as string | undefined,
            "content-length": req.headers["content-length"],
          },
          text,
          claims,
        });
        reply(201, "", { location: `${origin}/message/${crypto.randomUUID()}` });
      } catch (err) {
        refused.push({ subscriptionId: id, reason: (err as Error).message });
        reply(
          err instanceof Error && /vapid|k is|exp|sub|JWT|signature|aud/i.test(err.message) ? 403 : 400,
          (err as Error).message,
        );
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  const origin = `https://127.0.0.1:${port}`;

  return {
    origin,
    /** The CA clients must trust. */
    ca: tls.cert,
    received,
    refused,
    requests: () => requests,
    /** A new subscription bound to `applicationServerKey`, as PushSubscription.toJSON() gives it. */
    subscribe(applicationServerKey: string) {
      const ecdh = createECDH("prime256v1");
      ecdh.generateKeys();
      const id = crypto.randomUUID();
      const sub: Subscription = { id, ecdh, auth: randomBytes(16), applicationServerKey };
      subs.set(id, sub);
      return {
        id,
        endpoint: `${origin}/push/${id}`,
        keys: { p256dh: b64u(ecdh.getPublicKey()), auth: b64u(sub.auth) },
      };
    },
    /** The push service forgets the subscription: 410 Gone (or 404) from now on. */
    expire(subscriptionId: string, status: 404 | 410 = 410) {
      subs.get(subscriptionId)!.answer = status;
    },
    /** The next requests (any subscription) answer these statuses. */
    failNext(...statuses: number[]) {
      nextAnswers.push(...statuses);
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export type WebPushStandin = Awaited<ReturnType<typeof startWebPushStandin>>;
