/**
 * Local stand-in for Neon's proxy, both ways the serverless driver talks to it:
 *
 * - WebSocket (the `Pool`, interactive transactions): a `ws` server that pipes every WebSocket
 *   connection to the local PostgreSQL over TCP, binary frames both ways. The driver runs
 *   unchanged through it with `wsProxy: "127.0.0.1:<port>/v1"` (plain ws://, no pipelined TLS or
 *   startup, a password in the URL). The driver's `?address=host:port` is ignored on purpose:
 *   every connection goes to `target`, so a test cannot reach anything else through the bridge.
 * - HTTP (`neon()`, one fetch per statement): `POST /sql` on the same port, the part of Neon's
 *   SQL-over-HTTP protocol the driver uses. Headers `Neon-Connection-String` (user, password and
 *   database are taken from it; host and port are the target's), `Neon-Raw-Text-Output: true`
 *   and `Neon-Array-Mode: true`; a body `{ query, params }` answers `{ command, rowCount, fields:
 *   [{ name, dataTypeID }], rows: [[text | null, ...]], rowAsArray: true }`, and a batch
 *   `{ queries: [...] }` runs in one transaction (`Neon-Batch-Isolation-Level`,
 *   `Neon-Batch-Read-Only`, `Neon-Batch-Deferrable`) and answers `{ results: [...] }`. A failing
 *   statement answers 400 with the PostgreSQL error's fields (`message`, `code`, `detail`,
 *   `constraint`, ...), which the driver turns into a NeonDbError carrying them. Connections to
 *   PostgreSQL are pooled per connection string, as Neon pools them behind its HTTP endpoint.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { type AddressInfo, connect, type Socket } from "node:net";
import pg from "pg";
import { type WebSocket, WebSocketServer } from "ws";

export interface NeonBridge {
  port: number;
  /** The value for `wsProxy` / NEON_WS_PROXY (the HTTP endpoint is `http://<same>/sql`, path aside). */
  wsProxy: string;
  /** `POST /sql` URL of the HTTP half. */
  httpEndpoint: string;
  /** Connections currently piped (for leak checks). */
  openConnections(): number;
  /** WebSocket connections accepted since start (to prove a client really went through the bridge). */
  totalConnections(): number;
  /** HTTP statements (a batch counts each of its statements) served since start. */
  httpQueries(): number;
  stop(): Promise<void>;
}

/** PostgreSQL error fields the driver copies onto its NeonDbError. */
const ERROR_FIELDS = [
  "severity",
  "code",
  "detail",
  "hint",
  "position",
  "internalPosition",
  "internalQuery",
  "where",
  "schema",
  "table",
  "column",
  "dataType",
  "constraint",
  "file",
  "line",
  "routine",
] as const;

const ISOLATION: Record<string, string> = {
  Serializable: "serializable",
  RepeatableRead: "repeatable read",
  ReadCommitted: "read committed",
  ReadUncommitted: "read uncommitted",
};

/** Every value as PostgreSQL's text output: the driver parses types itself (Neon-Raw-Text-Output). */
const rawText = { getTypeParser: () => (value: string) => value };

interface Statement {
  query: string;
  params?: unknown[];
}

export async function startNeonBridge(
  options: { host?: string; targetHost?: string; targetPort?: number } = {},
): Promise<NeonBridge> {
  const host = options.host ?? "127.0.0.1";
  const targetHost = options.targetHost ?? "127.0.0.1";
  const targetPort = options.targetPort ?? 5432;
  const pairs = new Set<{ ws: WebSocket; tcp: Socket }>();
  const pools = new Map<string, pg.Pool>();
  let accepted = 0;
  let statements = 0;

  const poolFor = (connectionString: string): pg.Pool => {
    let pool = pools.get(connectionString);
    if (!pool) {
      const url = new URL(connectionString);
      pool = new pg.Pool({
        host: targetHost,
        port: targetPort,
        user: decodeURIComponent(url.username),
        password: decodeURIComponent(url.password),
        database: decodeURIComponent(url.pathname.slice(1)),
        max: 10,
        types: rawText,
      });
      pool.on("error", () => {});
      pools.set(connectionString, pool);
    }
    return pool;
  };

  const run = async (client: pg.PoolClient, s: Statement) => {
    statements++;
    const r = await client.query({ text: s.query, values: s.params ?? [], rowMode: "array", types: rawText });
    return {
      command: r.command,
      rowCount: r.rowCount,
      fields: r.fields.map((f) => ({
        name: f.name,
        dataTypeID: f.dataTypeID,
        tableID: f.tableID,
        columnID: f.columnID,
        dataTypeSize: f.dataTypeSize,
        dataTypeModifier: f.dataTypeModifier,
        format: "text",
      })),
      rows: r.rows,
      rowAsArray: true,
    };
  };

  const answer = (res: ServerResponse, status: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
    res.end(text);
  };

  const sql = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const connectionString = req.headers["neon-connection-string"];
    if (typeof connectionString !== "string")
      return answer(res, 400, { message: "missing Neon-Connection-String" });
    let body: Statement | { queries: Statement[] };
    try {
      body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    } catch {
      return answer(res, 400, { message: "request body is not JSON" });
    }
    let client: pg.PoolClient | undefined;
    let inBatch = false;
    try {
      client = await poolFor(connectionString).connect();
      if ("queries" in body) {
        const level = ISOLATION[String(req.headers["neon-batch-isolation-level"] ?? "")];
        const readOnly = req.headers["neon-batch-read-only"] === "true";
        const deferrable = req.headers["neon-batch-deferrable"] === "true";
        await client.query(
          `begin${level ? ` isolation level ${level}` : ""}${readOnly ? " read only" : ""}${deferrable ? " deferrable" : ""}`,
        );
        inBatch = true;
        const results = [];
        for (const s of body.queries) results.push(await run(client, s));
        await client.query("commit");
        inBatch = false;
        return answer(res, 200, { results });
      }
      return answer(res, 200, await run(client, body));
    } catch (err) {
      if (inBatch) await client?.query("rollback").catch(() => {});
      const e = err as Record<string, unknown> & Error;
      const fields = Object.fromEntries(ERROR_FIELDS.filter((k) => e[k] !== undefined).map((k) => [k, e[k]]));
      return answer(res, 400, { message: e.message, ...fields });
    } finally {
      client?.release();
    }
  };

  const server = createServer((req, res) => {
    if (req.method === "POST" && (req.url ?? "").split("?")[0] === "/sql") {
      sql(req, res).catch((err) => answer(res, 500, { message: String(err) }));
      return;
    }
    answer(res, 404, { message: "not found" });
  });
  const wss = new WebSocketServer({ server, perMessageDeflate: false });
  wss.on("connection", (ws) => {
    accepted++;
    const tcp = connect({ host: targetHost, port: targetPort });
    tcp.setNoDelay(true);
    const pair = { ws, tcp };
    pairs.add(pair);
    // Frames that arrive before the TCP connection is up are buffered by the socket itself.
    ws.on("message", (data, isBinary) => {
      const chunk = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
      tcp.write(isBinary ? chunk : chunk.toString());
    });
    tcp.on("data", (chunk) => {
      if (ws.readyState === ws.OPEN) ws.send(chunk, { binary: true });
    });
    const end = () => {
      pairs.delete(pair);
      tcp.destroy();
      if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close();
    };
    ws.on("close", end);
    ws.on("error", end);
    tcp.on("close", end);
    tcp.on("error", end);
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    port,
    wsProxy: `${host}:${port}/v1`,
    httpEndpoint: `http://${host}:${port}/sql`,
    openConnections: () => pairs.size,
    totalConnections: () => accepted,
    httpQueries: () => statements,
    async stop() {
      for (const { ws, tcp } of pairs) {
        tcp.destroy();
        ws.terminate();
      }
      pairs.clear();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      server.closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.allSettled([...pools.values()].map((p) => p.end()));
      pools.clear();
    },
  };
}
