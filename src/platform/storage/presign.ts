/**
 * S3 SigV4 presigning without the SDK's command pipeline: the official S3RequestPresigner of
 * @aws-sdk/s3-request-presigner signs a request we build ourselves (method, host, path, query,
 * headers), hashing with WebCrypto, so it runs the same on Node, Bun and workerd. getSignedUrl
 * runs a command's whole middleware stack (endpoint rules, serializers, checksums) per URL:
 * about 60× the cost for the same signature (test/bench/storage.bench.ts).
 */
import { S3RequestPresigner } from "@aws-sdk/s3-request-presigner";

type SourceData = string | ArrayBuffer | ArrayBufferView;

const encoder = new TextEncoder();
function toBytes(data: SourceData): Uint8Array<ArrayBuffer> {
  if (typeof data === "string") return encoder.encode(data);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer);
}

/** SHA-256 / HMAC-SHA256 over WebCrypto, in the Checksum shape the Smithy signer expects. */
class WebCryptoSha256 {
  readonly #key: Promise<CryptoKey> | undefined;
  #chunks: Uint8Array<ArrayBuffer>[] = [];

  constructor(secret?: SourceData) {
    if (secret !== undefined) {
      this.#key = crypto.subtle.importKey("raw", toBytes(secret), { name: "HMAC", hash: "SHA-256" }, false, [
        "sign",
      ]);
    }
  }

  update(data: SourceData): void {
    this.#chunks.push(toBytes(data));
  }

  async digest(): Promise<Uint8Array> {
    const total = this.#chunks.reduce((n, c) => n + c.byteLength, 0);
    const data = new Uint8Array(total);
    let at = 0;
    for (const c of this.#chunks) {
      data.set(c, at);
      at += c.byteLength;
    }
    const out = this.#key
      ? await crypto.subtle.sign("HMAC", await this.#key, data)
      : await crypto.subtle.digest("SHA-256", data);
    return new Uint8Array(out);
  }

  reset(): void {
    this.#chunks = [];
  }
}

/** RFC 3986 encoding of one path segment or query value, as S3 signs it. */
export const s3Encode = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

export interface PresignTarget {
  /** e.g. https://account.r2.cloudflarestorage.com, or unset for AWS (https://s3.<region>.amazonaws.com). */
  endpoint?: string;
  region: string;
  bucket: string;
  forcePathStyle: boolean;
  accessKeyId: string;
  secretAccessKey: string;
}

export interface PresignArgs {
  method: "GET" | "PUT";
  key: string;
  query?: Record<string, string>;
  /** Headers the client must send; all of them are signed. */
  headers?: Record<string, string>;
  expiresInSec: number;
  signingDate: Date;
}

export function createS3Presigner(target: PresignTarget) {
  const presigner = new S3RequestPresigner({
    credentials: { accessKeyId: target.accessKeyId, secretAccessKey: target.secretAccessKey },
    region: target.region,
    sha256: WebCryptoSha256,
    service: "s3",
  });
  const base = new URL(target.endpoint ?? `https://s3.${target.region}.amazonaws.com`);
  const pathStyle = target.forcePathStyle;
  const hostname = pathStyle ? base.hostname : `${target.bucket}.${base.hostname}`;
  const protocol = base.protocol;
  const port = base.port ? Number(base.port) : undefined;
  const prefix = base.pathname.replace(/\/$/, "");

  return async function presign(args: PresignArgs): Promise<string> {
    const keyPath = args.key.split("/").map(s3Encode).join("/");
    const path = pathStyle ? `${prefix}/${target.bucket}/${keyPath}` : `${prefix}/${keyPath}`;
    const headers: Record<string, string> = { host: port ? `${hostname}:${port}` : hostname };
    for (const [k, v] of Object.entries(args.headers ?? {})) headers[k.toLowerCase()] = v;
    const signed = await presigner.presign(
      {
        method: args.method,
        protocol,
        hostname,
        ...(port ? { port } : {}),
        path,
        query: { ...args.query },
        headers,
      },
      {
        expiresIn: args.expiresInSec,
        signingDate: args.signingDate,
        signableHeaders: new Set(Object.keys(headers)),
      },
    );
    const query = Object.entries(signed.query ?? {})
      .flatMap(([k, v]) => (Array.isArray(v) ? v.map((x) => [k, x]) : v == null ? [] : [[k, v]]))
      .map(([k, v]) => `${s3Encode(k!)}=${s3Encode(v!)}`)
      .join("&");
    return `${protocol}//${headers.host}${path}?${query}`;
  };
}
