/**
 * An APNs stand-in: HTTP/2 over TLS (self-signed), `POST /3/device/<token>`, speaking Apple's
 * provider API. It verifies the provider token (`authorization: bearer <ES256 JWT>` with `kid` =
 * the key id, `iss` = the team id, `iat` within the hour, signed by the .p8 key the test made) and
 * the headers (apns-topic = the bundle id, apns-push-type alert|background, apns-priority 10|5 and
 * 5 for background), records the JSON payload, and answers 200 with an apns-id, 410 Unregistered
 * for a token the test unregistered, 400 BadDeviceToken, or a forced status.
 */
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { decodeProtectedHeader, jwtVerify } from "jose";
import { selfSignedCert } from "./tls-cert";

export interface ReceivedApns {
  token: string;
  headers: Record<string, string | undefined>;
  payload: Record<string, any>;
  bytes: number;
}

export async function startApnsStandin(options: { keyId?: string; teamId?: string; bundleId?: string } = {}) {
  const keyId = options.keyId ?? "ABC123DEFG";
  const teamId = options.teamId ?? "TEAM123456";
  const bundleId = options.bundleId ?? "com.horizon.app";
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const p8 = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  const cert = selfSignedCert();
  const received: ReceivedApns[] = [];
  const unregistered = new Set<string>();
  const tokensSeen = new Set<string>();
  const nextAnswers: Array<{ status: number; reason: string }> = [];
  let requests = 0;

  const server = http2.createSecureServer({ key: cert.key, cert: cert.cert });
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (s) => {
    sessions.add(s);
    s.on("close", () => sessions.delete(s));
  });
  server.on("stream", (stream, headers) => {
    requests++;
    const chunks: Buffer[] = [];
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", async () => {
      const apnsId = crypto.randomUUID().toUpperCase();
      const reply = (status: number, reason?: string) => {
        stream.respond({
          ":status": status,
          "apns-id": apnsId,
          ...(reason ? { "content-type": "application/json" } : {}),
        });
        stream.end(
          reason
            ? JSON.stringify({ reason, ...(status === 410 ? { timestamp: Date.now() } : {}) })
            : undefined,
        );
      };
      const path = String(headers[":path"] ?? "");
      const m = /^\/3\/device\/([0-9a-fA-F]+)$/.exec(path);
      if (headers[":method"] !== "POST") return reply(405, "MethodNotAllowed");
      if (!m) return reply(400, "BadPath");
      const token = m[1]!;
      const auth = String(headers.authorization ?? "");
      if (!auth.startsWith("bearer ")) return reply(403, "MissingProviderToken");
      try {
        const jwt = auth.slice(7);
        const header = decodeProtectedHeader(jwt);
        if (header.kid !== keyId) return reply(403, "InvalidProviderToken");
        const { payload } = await jwtVerify(jwt, publicKey as KeyObject, {
          issuer: teamId,
          algorithms: ["ES256"],
        });
        if (typeof payload.iat !== "number" || Date.now() / 1000 - payload.iat > 3600)
          return reply(403, "ExpiredProviderToken");
        tokensSeen.add(jwt);
      } catch {
        return reply(403, "InvalidProviderToken");
      }
      if (headers["apns-topic"] !== bundleId)
        return reply(400, headers["apns-topic"] ? "TopicDisallowed" : "MissingTopic");
      const pushType = String(headers["apns-push-type"] ?? "");
      if (pushType !== "alert" && pushType !== "background") return reply(400, "InvalidPushType");
      const priority = String(headers["apns-priority"] ?? "10");
      if (priority !== "10" && priority !== "5") return reply(400, "BadPriority");
      if (pushType === "background" && priority !== "5") return reply(400, "BadPriority");
      const body = Buffer.concat(chunks);
      if (body.length > 4096) return reply(413, "PayloadTooLarge");
      let payload: Record<string, any>;
      try {
        payload = JSON.parse(body.toString("utf8"));
      } catch {
        return reply(400, "PayloadEmpty");
      }
      if (pushType === "background" && payload.aps?.["content-available"] !== 1)
        return reply(400, "BadPayload");
      const forced = nextAnswers.shift();
      if (forced) return reply(forced.status, forced.reason);
      if (unregistered.has(token)) return reply(410, "Unregistered");
      if (token.length !== 64) return reply(400, "BadDeviceToken");
      received.push({
        token,
        headers: {
          "apns-topic": headers["apns-topic"] as string,
          "apns-push-type": pushType,
          "apns-priority": priority,
          "apns-collapse-id": headers["apns-collapse-id"] as string | undefined,
          "apns-expiration": headers["apns-expiration"] as string | undefined,
        },
        payload,
        bytes: body.length,
      });
      reply(200);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;

  return {
    host: `https://localhost:${port}`,
    ca: cert.cert,
    keyId,
    teamId,
    bundleId,
    /** The .p8 key (PKCS#8 PEM) the provider signs its tokens with. */
    privateKey: p8,
    received,
    requests: () => requests,
    /** Distinct provider tokens seen (the sender must reuse one for up to an hour). */
    providerTokens: () => tokensSeen.size,
    unregister(token: string) {
      unregistered.add(token.toLowerCase());
      unregistered.add(token);
    },
    failNext(...answers: Array<{ status: number; reason: string }>) {
      nextAnswers.push(...answers);
    },
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        for (const s of sessions) s.destroy();
      }),
  };
}

export type ApnsStandin = Awaited<ReturnType<typeof startApnsStandin>>;
