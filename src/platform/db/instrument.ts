import { measureDb, startDbTimer } from "../../context";

interface PoolLike {
  query: (...args: any[]) => any;
  on(event: "connect", listener: (client: { query: (...args: any[]) => any }) => void): unknown;
}

/** Times one call of a pg-style `query` (promise or callback form); Submittables pass through. */
function timed(query: (...args: any[]) => any, args: any[]) {
  if (typeof args[0]?.submit === "function") return query(...args);
  const last = args[args.length - 1];
  if (typeof last === "function") {
    const done = startDbTimer();
    args[args.length - 1] = (...cbArgs: unknown[]) => {
      done();
      return last(...cbArgs);
    };
    return query(...args);
  }
  return measureDb(() => query(...args));
}

/** Drizzle's BEGIN of a transaction, and SAVEPOINT of a nested one. */
const OPENING = /^(begin|savepoint sp\d+)$/;
const opening = (q: unknown): string | null => {
  const text = typeof q === "string" ? q : (q as { text?: unknown } | null)?.text;
  return typeof text === "string" && OPENING.test(text) ? text.split(" ")[0]!.toUpperCase() : null;
};

/**
 * Times every query of pg-compatible pools (node-postgres, Neon).
 *
 * `pool.query` is timed where it is called, not on the pooled client it checks out: when the
 * pool has to open a connection first, the client's query runs in the connection's event
 * callback, and in workerd that callback has lost the request's AsyncLocalStorage context (the
 * Worker's first query of every request went uncounted). Checked-out clients (transactions) are
 * timed per promise-form call; their callback form is what `pool.query` uses internally, already
 * timed above, so it is not counted twice.
 *
 * With `pipelinedBegin` (a node-postgres pool in pipeline mode), a transaction's BEGIN (or a nested
 * one's SAVEPOINT) is sent and answered at once, so the transaction's first statement follows it
 * on the wire without waiting a round trip for it (Drizzle awaits both before running the
 * callback); the first statement's promise carries their error, if there was one. BEGIN fails only
 * with its connection, which fails the statement behind it as well; a SAVEPOINT in a transaction
 * already failed fails the statement behind it for the same reason.
 */
export function instrumentPool(pool: PoolLike, options: { pipelinedBegin?: boolean } = {}): void {
  const poolQuery = pool.query.bind(pool);
  pool.query = (...args: any[]) => timed(poolQuery, args);
  pool.on("connect", (client) => {
    const query = client.query.bind(client);
    let begun: Promise<unknown> | null = null;
    client.query = (...args: any[]) => {
      const last = args[args.length - 1];
      if (typeof args[0]?.submit === "function" || typeof last === "function") return query(...args);
      const command = options.pipelinedBegin ? opening(args[0]) : null;
      if (command) {
        const sent = measureDb(() => query(...args));
        // Its error is the next statement's to report.
        sent.catch(() => {});
        begun = sent;
        // What node-postgres answers BEGIN or SAVEPOINT with.
        return Promise.resolve({ command, rowCount: null, oid: null, rows: [], fields: [] });
      }
      const sent = measureDb(() => query(...args));
      if (!begun) return sent;
      const before = begun;
      begun = null;
      return before.then(
        () => sent,
        (err) => {
          sent.catch(() => {});
          throw err;
        },
      );
    };
  });
}
