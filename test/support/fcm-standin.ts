/**
 * An FCM HTTP v1 stand-in (`POST /v1/projects/{project}/messages:send`) over real HTTPS, reached
 * by `firebase-admin` itself: the SDK always calls fcm.googleapis.com, so the app is given an
 * https.Agent whose connections go to this server (see PLATFORM-FACTS.md, FCM). It checks the
 * bearer token and the v1 message shape, records each message, and answers like FCM: 200 with
 * the message name, 404 UNREGISTERED for a token the test unregistered, or a forced 5xx/429.
 */
import { Agent, createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import tls from "node:tls";
import type { Credential } from "firebase-admin/app";
import { selfSignedCert } from "./tls-cert";

export const FCM_TEST_ACCESS_TOKEN = "fcm-standin-access-token";

export interface ReceivedFcm {
  project: string;
  message: Record<string, any>;
  /** Bytes of the request body. */
  bytes: number;
}

const fcmError = (code: number, status: string, message: string, errorCode?: string) =>
  JSON.stringify({
    error: {
      code,
      message,
      status,
      ...(errorCode
        ? { details: [{ "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", errorCode }] }
        : {}),
    },
  });

export async function startFcmStandin() {
  const cert = selfSignedCert(["fcm.googleapis.com", "localhost"]);
  const received: ReceivedFcm[] = [];
  const unregistered = new Set<string>();
  const nextAnswers: number[] = [];
  let requests = 0;

  const server: Server = createServer({ key: cert.key, cert: cert.cert }, (req, res) => {
    requests++;
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const reply = (status: number, body: string) => {
        res.writeHead(status, { "content-type": "application/json; charset=UTF-8" });
        res.end(body);
      };
      const m = /^\/v1\/projects\/([\w-]+)\/messages:send$/.exec(req.url ?? "");
      if (req.method !== "POST" || !m) return reply(404, fcmError(404, "NOT_FOUND", "no such method"));
      if (req.headers.authorization !== `Bearer ${FCM_TEST_ACCESS_TOKEN}`) {
        return reply(
          401,
          fcmError(401, "UNAUTHENTICATED", "Request had invalid authentication credentials."),
        );
      }
      const forced = nextAnswers.shift();
      if (forced === 429) return reply(429, fcmError(429, "RESOURCE_EXHAUSTED", "quota", "QUOTA_EXCEEDED"));
      if (forced)
        return reply(
          forced,
          fcmError(forced, "UNAVAILABLE", "The service is currently unavailable.", "UNAVAILABLE"),
        );
      const raw = Buffer.concat(chunks);
      let body: { message?: Record<string, any> };
      try {
        body = JSON.parse(raw.toString("utf8"));
      } catch {
        return reply(400, fcmError(400, "INVALID_ARGUMENT", "Invalid JSON payload received."));
      }
      const message = body.message;
      if (!message || typeof message.token !== "string") {
        return reply(400, fcmError(400, "INVALID_ARGUMENT", "message.token is required", "INVALID_ARGUMENT"));
      }
      for (const [k, v] of Object.entries(message.data ?? {})) {
        if (k === "from" || k === "message_type" || k === "notification" || /^(google|gcm)/i.test(k)) {
          return reply(
            400,
            fcmError(400, "INVALID_ARGUMENT", `Invalid data payload key: ${k}`, "INVALID_ARGUMENT"),
          );
        }
        if (typeof v !== "string")
          return reply(
            400,
            fcmError(400, "INVALID_ARGUMENT", `data.${k} must be a string`, "INVALID_ARGUMENT"),
          );
      }
      const size = Buffer.byteLength(
        JSON.stringify({ notification: message.notification, data: message.data }),
      );
      if (size > 4096)
        return reply(400, fcmError(400, "INVALID_ARGUMENT", "Message is too big", "INVALID_ARGUMENT"));
      if (unregistered.has(message.token)) {
        return reply(404, fcmError(404, "NOT_FOUND", "Requested entity was not found.", "UNREGISTERED"));
      }
      received.push({ project: m[1]!, message, bytes: raw.length });
      reply(200, JSON.stringify({ name: `projects/${m[1]}/messages/${crypto.randomUUID()}` }));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;

  /** Every connection the SDK opens (to fcm.googleapis.com:443) lands on this server instead. */
  class StandinAgent extends Agent {
    override createConnection(options: tls.ConnectionOptions): tls.TLSSocket {
      return tls.connect({
        ...options,
        host: "127.0.0.1",
        port,
        servername: "fcm.googleapis.com",
        ca: cert.cert,
      });
    }
  }

  /** A credential that hands out the token this stand-in accepts (no Google OAuth round trip). */
  const credential: Credential = {
    getAccessToken: async () => ({ access_token: FCM_TEST_ACCESS_TOKEN, expires_in: 3600 }),
  };

  return {
    received,
    requests: () => requests,
    agent: () => new StandinAgent({ keepAlive: true }),
    credential,
    /** FCM forgets the token: sends answer 404 UNREGISTERED from now on. */
    unregister(token: string) {
      unregistered.add(token);
    },
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

export type FcmStandin = Awaited<ReturnType<typeof startFcmStandin>>;
