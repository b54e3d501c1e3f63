/**
 * Response bodies without re-reading them. Handlers build responses from strings (c.json,
 * c.text, c.html, c.body); `rememberBodies` records each such body against its Response, so the
 * middlewares that need the bytes (payload size, ETag, compression, sparse fields) read the
 * string instead of draining the stream. That keeps @hono/node-server's fast path (it writes a
 * string body directly) and Bun's native Response untouched for the common case.
 */
import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "./env";

type Body = string | Uint8Array;
const known = new WeakMap<Response, Body>();
const encoder = new TextEncoder();

/** Registers the body a response was built from (for middlewares that replace `c.res`). */
export function withBody(res: Response, body: Body): Response {
  known.set(res, body);
  return res;
}

export function byteLength(body: Body): number {
  return typeof body === "string" ? encoder.encode(body).byteLength : body.byteLength;
}

export function toBytes(body: Body): Uint8Array {
  return typeof body === "string" ? encoder.encode(body) : body;
}

/**
 * Whether a response has a body, without touching `res.body` for remembered ones (reading
 * `.body` materializes @hono/node-server's lightweight Response into a full one).
 */
export function hasBody(res: Response): boolean {
  const remembered = known.get(res);
  return remembered !== undefined ? byteLengthNonZero(remembered) : res.body !== null;
}

const byteLengthNonZero = (body: Body) => (typeof body === "string" ? body.length > 0 : body.byteLength > 0);

/**
 * The body of `c.res` as built, or null for streams and bodiless responses. An unknown body that
 * is not a stream is read once and `c.res` is rebuilt around the bytes, so later readers share it.
 */
export async function responseBody(
  c: Context<AppEnv>,
  options: { streamTypes?: RegExp } = {},
): Promise<Body | null> {
  const res = c.res;
  const remembered = known.get(res);
  if (remembered !== undefined) return remembered;
  if (!res.body) return null;
  const streamTypes = options.streamTypes ?? /^(text\/event-stream|application\/octet-stream|multipart\/)/;
  if (streamTypes.test(res.headers.get("content-type") ?? "")) return null;
  const bytes = new Uint8Array(await res.arrayBuffer());
  c.res = undefined as never;
  c.res = withBody(
    new Response(bytes, { status: res.status, statusText: res.statusText, headers: res.headers }),
    bytes,
  );
  return bytes;
}

type HeaderArg = Record<string, string | string[]> | undefined;
const typed = (type: string, headers: HeaderArg) => ({ "Content-Type": type, ...headers });

export function rememberBodies(): MiddlewareHandler<AppEnv> {
  return async function rememberBodiesMiddleware(c, next) {
    const make = c.newResponse as (data: Body | null, arg?: unknown, headers?: HeaderArg) => Response;
    const remember = (data: Body | null, res: Response) => (data === null ? res : withBody(res, data));
    c.json = ((object: unknown, arg?: unknown, headers?: HeaderArg) => {
      const text = JSON.stringify(object);
      return remember(text, make(text, arg, typed("application/json", headers)));
    }) as typeof c.json;
    c.text = ((text: string, arg?: unknown, headers?: HeaderArg) =>
      remember(text, make(text, arg, typed("text/plain; charset=UTF-8", headers)))) as typeof c.text;
    c.body = ((data: Body | null, arg?: unknown, headers?: HeaderArg) =>
      typeof data === "string" || data instanceof Uint8Array || data === null
        ? remember(data, make(data, arg, headers))
        : make(data, arg, headers)) as typeof c.body;
    const html = c.html;
    c.html = ((content: unknown, arg?: unknown, headers?: HeaderArg) =>
      typeof content === "string"
        ? remember(content, make(content, arg, typed("text/html; charset=UTF-8", headers)))
        : (html as (...a: unknown[]) => unknown)(content, arg, headers)) as typeof c.html;
    await next();
  };
}
