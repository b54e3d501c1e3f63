/**
 * Local stand-in for Upstash Redis: an HTTP server speaking the Upstash REST protocol over the
 * local Redis, so `@upstash/redis` and `@upstash/ratelimit` run unchanged in tests.
 *
 *   POST /            body ["SET","k","v"]          → 200 { result } | 400 { error }
 *   POST /pipeline    body [["SET",..],["GET",..]]  → 200 [{ result } | { error }, ...]
 *   POST /multi-exec  same, atomically (MULTI/EXEC) → 200 [...] | 400 { error } when aborted
 *   Authorization: Bearer <token>                   → 401 without it
 *   Upstash-Encoding: base64                        → every string in a result is base64
 *
 * Upstash accepts `#!lua flags=...` script headers that Redis 7.0 rejects; the bridge drops that
 * line and remembers the SHA the client computed over the original text, so EVALSHA / SCRIPT
 * LOAD / SCRIPT EXISTS keep working with the client's hashes. Key isolation is the adapters'
 * `prefix` option: the bridge itself is transparent.
 */
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Redis } from "ioredis";

export interface UpstashBridge {
  url: string;
  token: string;
  port: number;
  /** Requests answered so far (to prove a client really went through the bridge). */
  requests(): number;
  stop(): Promise<void>;
}

type Arg = string | number;
type Command = Arg[];
type Reply = string | number | null | Reply[];

const sha1 = (text: string) => createHash("sha1").update(text).digest("hex");

function stripLuaFlags(script: string): string {
  if (!script.startsWith("#!lua")) return script;
  const nl = script.indexOf("\n");
  return nl === -1 ? "" : script.slice(nl + 1);
}

function isCommand(value: unknown): value is Command {
  return (
    Array.isArray(value) &&
    value.length > 0 &&
    value.every((v) => typeof v === "string" || typeof v === "number" || typeof v === "boolean")
  );
}

/** ioredis turns some replies into objects (HGETALL); Upstash answers the flat RESP array. */
function toReply(value: unknown): Reply {
  if (value === null || value === undefined) return null;
  if (typeof value === "string" || typeof value === "number") return value;
  if (Buffer.isBuffer(value)) return value.toString();
  if (Array.isArray(value)) return value.map(toReply);
  if (typeof value === "object") return Object.entries(value).flatMap(([k, v]) => [k, toReply(v)]);
  return String(value);
}

function encode(value: Reply): Reply {
  if (typeof value === "string") return Buffer.from(value).toString("base64");
  if (Array.isArray(value)) return value.map(encode);
  return value;
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

export async function startUpstashBridge(
  options: { redisUrl?: string; token?: string; host?: string } = {},
): Promise<UpstashBridge> {
  const host = options.host ?? "127.0.0.1";
  const token = options.token ?? `bridge-${Math.random().toString(36).slice(2)}`;
  const redis = new Redis(options.redisUrl ?? "redis://127.0.0.1:6379", { maxRetriesPerRequest: 1 });
  redis.on("error", () => {});
  /** SHA over the text the client sent → SHA of the script Redis actually stored. */
  const shas = new Map<string, string>();
  let served = 0;

  /** Rewrites a command for Redis 7.0: strips `#!lua` flags and maps client SHAs. */
  const rewrite = (command: Command): Command => {
    const args = command.map((a) => (typeof a === "boolean" ? String(a) : a));
    const name = String(args[0]).toUpperCase();
    const sub = String(args[1] ?? "").toUpperCase();
    if ((name === "EVAL" || name === "EVAL_RO") && typeof args[1] === "string") {
      const stripped = stripLuaFlags(args[1]);
      if (stripped !== args[1]) shas.set(sha1(args[1]), sha1(stripped));
      args[1] = stripped;
    } else if (name === "EVALSHA" || name === "EVALSHA_RO") {
      args[1] = shas.get(String(args[1]).toLowerCase()) ?? args[1]!;
    } else if (name === "SCRIPT" && sub === "EXISTS") {
      for (let i = 2; i < args.length; i++) args[i] = shas.get(String(args[i]).toLowerCase()) ?? args[i]!;
    }
    return args;
  };

  const run = async (command: Command): Promise<Reply> => {
    const name = String(command[0]).toUpperCase();
    if (name === "SCRIPT" && String(command[1]).toUpperCase() === "LOAD" && typeof command[2] === "string") {
      // Answer the SHA of the text the client sent, as Upstash does.
      const original = command[2];
      const stripped = stripLuaFlags(original);
      const stored = String(await redis.call("SCRIPT", "LOAD", stripped));
      shas.set(sha1(original), stored);
      return sha1(original);
    }
    const [cmd, ...args] = rewrite(command);
    return toReply(await redis.call(String(cmd), ...args));
  };

  const batch = async (commands: Command[], atomic: boolean) => {
    const chain = atomic ? redis.multi() : redis.pipeline();
    // `call` rather than the command-array constructor: it takes any command name in any case.
    for (const [cmd, ...args] of commands.map(rewrite)) chain.call(String(cmd), ...args);
    const results = (await chain.exec()) ?? [];
    return results.map(([err, value]) => (err ? { error: message(err) } : { result: toReply(value) }));
  };

  const handle = async (req: IncomingMessage): Promise<{ status: number; body: unknown }> => {
    if (req.method !== "POST") return { status: 405, body: { error: "only POST is supported" } };
    const auth = req.headers.authorization ?? "";
    if (auth !== `Bearer ${token}`) return { status: 401, body: { error: "Unauthorized" } };
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    let payload: unknown;
    try {
      payload = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    } catch {
      return { status: 400, body: { error: "ERR failed to parse the request body as JSON" } };
    }
    const base64 = String(req.headers["upstash-encoding"] ?? "").toLowerCase() === "base64";
    const out = (r: Reply) => (base64 ? encode(r) : r);
    const path = new URL(req.url ?? "/", "http://bridge").pathname.replace(/\/+$/, "") || "/";

    if (path === "/") {
      if (!isCommand(payload)) return { status: 400, body: { error: "ERR expected a command array" } };
      try {
        return { status: 200, body: { result: out(await run(payload)) } };
      } catch (err) {
        return { status: 400, body: { error: message(err) } };
      }
    }
    if (path === "/pipeline" || path === "/multi-exec") {
      if (!Array.isArray(payload) || payload.length === 0 || !payload.every(isCommand)) {
        return { status: 400, body: { error: "ERR expected an array of command arrays" } };
      }
      try {
        const results = await batch(payload, path === "/multi-exec");
        return {
          status: 200,
          body: results.map((r) => ("error" in r ? r : { result: out(r.result) })),
        };
      } catch (err) {
        // A transaction aborted before EXEC (EXECABORT) fails as a whole.
        return { status: 400, body: { error: message(err) } };
      }
    }
    return { status: 404, body: { error: `unknown endpoint ${path}` } };
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    served++;
    handle(req).then(
      ({ status, body }) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(body));
      },
      (err) => {
        res.writeHead(500, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: message(err) }));
      },
    );
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://${host}:${port}`,
    token,
    port,
    requests: () => served,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      redis.disconnect();
    },
  };
}
