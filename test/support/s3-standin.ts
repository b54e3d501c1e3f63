/**
 * An S3 stand-in that refuses what R2/S3 refuse: s3rver (which never checks signatures) behind a
 * proxy that verifies AWS Signature V4 itself, written from the AWS spec with node:crypto (not the
 * SDK's signer, which would only agree with itself):
 *  - presigned query signatures (X-Amz-Algorithm/Credential/Date/Expires/SignedHeaders/Signature):
 *    expired → 403 AccessDenied "Request has expired"; tampered URL, or a signed header sent with
 *    another value (Content-Type, Content-Length: a larger body) → 403 SignatureDoesNotMatch;
 *  - header-signed SDK requests (Authorization: AWS4-HMAC-SHA256 …), including the body's SHA-256
 *    when x-amz-content-sha256 carries one, and the 15-minute clock skew;
 *  - ListParts and AbortMultipartUpload, which s3rver answers 405: the proxy tracks the parts of
 *    each multipart upload itself, refuses parts and completion of unknown or aborted uploads
 *    (404 NoSuchUpload) and non-last parts under the minimum (400 EntityTooSmall).
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
// @ts-expect-error s3rver ships no types
import S3rver from "s3rver";
import { freePort } from "./net";

export interface S3StandIn {
  /** The proxy: give this to the S3 client as `endpoint` (path-style). */
  endpoint: string;
  bucket: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Refusals the proxy answered, newest last (code + reason), for assertions and debugging. */
  refusals: Array<{ method: string; path: string; code: string; reason: string }>;
  /** S3 config variables for createTestApp's env. */
  env: Record<string, string>;
  close(): Promise<void>;
}

const MAX_SKEW_MS = 15 * 60 * 1000;

/** RFC 3986 encoding as SigV4 wants it (encodeURIComponent leaves !'()* alone). */
const rfc3986 = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

const hmac = (key: Buffer | string, data: string) => createHmac("sha256", key).update(data).digest();
const sha256hex = (data: Buffer | string) => createHash("sha256").update(data).digest("hex");

function parseAmzDate(s: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) return Number.NaN;
  return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
}

function canonicalQuery(raw: string, omit: string): string {
  const pairs: Array<[string, string]> = [];
  for (const part of raw.split("&")) {
    if (!part) continue;
    const eq = part.indexOf("=");
    const k = decodeURIComponent(eq === -1 ? part : part.slice(0, eq));
    const v = eq === -1 ? "" : decodeURIComponent(part.slice(eq + 1));
    if (k === omit) continue;
    pairs.push([rfc3986(k), rfc3986(v)]);
  }
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join("&");
}

interface Refusal {
  status: number;
  code: string;
  reason: string;
}

export async function startS3StandIn(
  options: { bucket?: string; minPartSize?: number; region?: string } = {},
): Promise<S3StandIn> {
  const bucket = options.bucket ?? "horizon-test";
  const region = options.region ?? "us-east-1";
  const accessKeyId = "S3RVER";
  const secretAccessKey = "S3RVER";
  const minPartSize = options.minPartSize ?? 5 * 1024 * 1024;
  const directory = await mkdtemp(join(tmpdir(), "s3rver-"));
  const innerPort = await freePort();
  const s3rver = new S3rver({
    address: "127.0.0.1",
    port: innerPort,
    silent: true,
    directory,
    configureBuckets: [{ name: bucket }],
  });
  await s3rver.run();
  const inner = `http://127.0.0.1:${innerPort}`;
  const refusals: S3StandIn["refusals"] = [];
  /** uploadId → key path and parts seen (s3rver cannot list them). */
  const uploads = new Map<
    string,
    { path: string; parts: Map<number, { etag: string; size: number; at: Date }> }
  >();

  function verify(req: IncomingMessage, path: string, query: string, body: Buffer): Refusal | null {
    const params = new URLSearchParams(query);
    const h = (name: string) => {
      const v = req.headers[name];
      return Array.isArray(v) ? v.join(",") : v;
    };
    let credential: string;
    let signedHeaders: string;
    let signature: string;
    let amzDate: string;
    let payloadHash: string;
    let omit = "";
    const auth = h("authorization");
    if (params.has("X-Amz-Signature")) {
      if (params.get("X-Amz-Algorithm") !== "AWS4-HMAC-SHA256")
        return { status: 400, code: "AuthorizationQueryParametersError", reason: "algorithm" };
      credential = params.get("X-Amz-Credential") ?? "";
      signedHeaders = params.get("X-Amz-SignedHeaders") ?? "";
      signature = params.get("X-Amz-Signature") ?? "";
      amzDate = params.get("X-Amz-Date") ?? "";
      const expires = Number(params.get("X-Amz-Expires"));
      if (!Number.isInteger(expires) || expires < 1 || expires > 604_800)
        return { status: 400, code: "AuthorizationQueryParametersError", reason: "X-Amz-Expires" };
      const signedAt = parseAmzDate(amzDate);
      if (Number.isNaN(signedAt))
        return { status: 400, code: "AuthorizationQueryParametersError", reason: "X-Amz-Date" };
      if (Date.now() > signedAt + expires * 1000)
        return { status: 403, code: "AccessDenied", reason: "Request has expired" };
      payloadHash = params.get("X-Amz-Content-Sha256") ?? "UNSIGNED-PAYLOAD";
      omit = "X-Amz-Signature";
    } else if (auth?.startsWith("AWS4-HMAC-SHA256 ")) {
      const fields = Object.fromEntries(
        auth
          .slice(17)
          .split(",")
          .map((f) => f.trim().split("=") as [string, string]),
      );
      credential = fields.Credential ?? "";
      signedHeaders = fields.SignedHeaders ?? "";
      signature = fields.Signature ?? "";
      amzDate = h("x-amz-date") ?? "";
      const signedAt = parseAmzDate(amzDate);
      if (Number.isNaN(signedAt) || Math.abs(Date.now() - signedAt) > MAX_SKEW_MS)
        return { status: 403, code: "RequestTimeTooSkewed", reason: "x-amz-date" };
      payloadHash = h("x-amz-content-sha256") ?? "";
      if (/^[0-9a-f]{64}$/.test(payloadHash)) {
        if (sha256hex(body) !== payloadHash)
          return { status: 400, code: "XAmzContentSHA256Mismatch", reason: "body hash" };
      } else if (payloadHash !== "UNSIGNED-PAYLOAD") {
        return { status: 400, code: "InvalidRequest", reason: `payload hash ${payloadHash}` };
      }
    } else {
      return { status: 403, code: "AccessDenied", reason: "anonymous request" };
    }
    const [ak, date, credRegion, service, terminator] = credential.split("/");
    if (ak !== accessKeyId) return { status: 403, code: "InvalidAccessKeyId", reason: "access key" };
    if (
      date !== amzDate.slice(0, 8) ||
      credRegion !== region ||
      service !== "s3" ||
      terminator !== "aws4_request"
    )
      return { status: 403, code: "SignatureDoesNotMatch", reason: "credential scope" };
    const names = signedHeaders.split(";");
    if (!names.includes("host")) return { status: 403, code: "AccessDenied", reason: "host not signed" };
    const canonicalHeaders = names.map((n) => `${n}:${(h(n) ?? "").trim().replace(/\s+/g, " ")}\n`).join("");
    const canonicalRequest = [
      req.method,
      path,
      canonicalQuery(query, omit),
      canonicalHeaders,
      signedHeaders,
      payloadHash,
    ].join("\n");
    const scope = `${date}/${region}/s3/aws4_request`;
    const stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256hex(canonicalRequest)].join("\n");
    const key = hmac(hmac(hmac(hmac(`AWS4${secretAccessKey}`, date), region), "s3"), "aws4_request");
    const expected = hmac(key, stringToSign);
    if (!/^[0-9a-f]{64}$/.test(signature))
      return { status: 403, code: "SignatureDoesNotMatch", reason: "malformed signature" };
    const given = Buffer.from(signature, "hex");
    if (given.length !== expected.length || !timingSafeEqual(given, expected))
      return { status: 403, code: "SignatureDoesNotMatch", reason: "signature" };
    // A signed Content-Length must be the body actually sent (Node enforces framing; be explicit).
    if (names.includes("content-length") && Number(h("content-length")) !== body.length)
      return { status: 403, code: "SignatureDoesNotMatch", reason: "content-length" };
    return null;
  }

  const xml = (res: ServerResponse, status: number, content: string) => {
    res.writeHead(status, { "content-type": "application/xml" });
    res.end(`<?xml version="1.0" encoding="UTF-8"?>\n${content}`);
  };
  const refuse = (req: IncomingMessage, res: ServerResponse, path: string, r: Refusal) => {
    refusals.push({ method: req.method ?? "", path, code: r.code, reason: r.reason });
    xml(res, r.status, `<Error><Code>${r.code}</Code><Message>${r.reason}</Message></Error>`);
  };

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const raw = req.url ?? "/";
    const qi = raw.indexOf("?");
    const path = qi === -1 ? raw : raw.slice(0, qi);
    const query = qi === -1 ? "" : raw.slice(qi + 1);
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const refusal = verify(req, path, query, body);
    if (refusal) return refuse(req, res, path, refusal);

    const params = new URLSearchParams(query);
    const uploadId = params.get("uploadId");
    if (uploadId !== null) {
      const upload = uploads.get(uploadId);
      if (!upload || upload.path !== path)
        return refuse(req, res, path, {
          status: 404,
          code: "NoSuchUpload",
          reason: "The specified upload does not exist.",
        });
      if (req.method === "GET") {
        const parts = [...upload.parts.entries()].sort((a, b) => a[0] - b[0]);
        const key = decodeURIComponent(path.split("/").slice(2).join("/"));
        return xml(
          res,
          200,
          `<ListPartsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>${bucket}</Bucket><Key>${key}</Key><UploadId>${uploadId}</UploadId><PartNumberMarker>0</PartNumberMarker><NextPartNumberMarker>${parts.at(-1)?.[0] ?? 0}</NextPartNumberMarker><MaxParts>10000</MaxParts><IsTruncated>false</IsTruncated>${parts
            .map(
              ([n, p]) =>
                `<Part><PartNumber>${n}</PartNumber><LastModified>${p.at.toISOString()}</LastModified><ETag>${p.etag.replaceAll('"', "&quot;")}</ETag><Size>${p.size}</Size></Part>`,
            )
            .join("")}</ListPartsResult>`,
        );
      }
      if (req.method === "DELETE") {
        uploads.delete(uploadId);
        res.writeHead(204).end();
        return;
      }
      if (req.method === "POST") {
        const numbers = [...body.toString("utf8").matchAll(/<PartNumber>(\d+)<\/PartNumber>/g)].map((m) =>
          Number(m[1]),
        );
        for (const [i, n] of numbers.entries()) {
          const part = upload.parts.get(n);
          if (!part) return refuse(req, res, path, { status: 400, code: "InvalidPart", reason: `part ${n}` });
          if (i < numbers.length - 1 && part.size < minPartSize)
            return refuse(req, res, path, { status: 400, code: "EntityTooSmall", reason: `part ${n}` });
        }
      }
    }

    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) {
      if (
        v === undefined ||
        ["host", "connection", "content-length", "transfer-encoding", "expect"].includes(k)
      )
        continue;
      headers[k] = Array.isArray(v) ? v.join(",") : v;
    }
    const upstream = await fetch(`${inner}${raw}`, {
      method: req.method ?? "GET",
      headers,
      ...(body.length || req.method === "PUT" || req.method === "POST" ? { body } : {}),
    });
    const out = Buffer.from(await upstream.arrayBuffer());
    if (upstream.ok) {
      if (req.method === "POST" && params.has("uploads")) {
        const id = /<UploadId>([^<]+)<\/UploadId>/.exec(out.toString("utf8"))?.[1];
        if (id) uploads.set(id, { path, parts: new Map() });
      } else if (req.method === "PUT" && uploadId !== null) {
        const n = Number(params.get("partNumber"));
        uploads
          .get(uploadId)
          ?.parts.set(n, { etag: upstream.headers.get("etag") ?? "", size: body.length, at: new Date() });
      } else if (req.method === "POST" && uploadId !== null) {
        uploads.delete(uploadId);
      }
    }
    const outHeaders: Record<string, string> = {};
    upstream.headers.forEach((v, k) => {
      if (!["content-encoding", "transfer-encoding", "connection", "content-length"].includes(k))
        outHeaders[k] = v;
    });
    if (req.method !== "HEAD") outHeaders["content-length"] = String(out.length);
    else if (upstream.headers.has("content-length"))
      outHeaders["content-length"] = upstream.headers.get("content-length")!;
    res.writeHead(upstream.status, outHeaders);
    res.end(req.method === "HEAD" ? undefined : out);
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (!res.headersSent)
        xml(res, 500, `<Error><Code>InternalError</Code><Message>${String(err)}</Message></Error>`);
      else res.destroy();
    });
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    bucket,
    region,
    accessKeyId,
    secretAccessKey,
    refusals,
    env: {
      STORAGE_DRIVER: "s3",
      S3_ENDPOINT: endpoint,
      S3_REGION: region,
      S3_BUCKET: bucket,
      S3_ACCESS_KEY_ID: accessKeyId,
      S3_SECRET_ACCESS_KEY: secretAccessKey,
      S3_FORCE_PATH_STYLE: "true",
    },
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await s3rver.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
