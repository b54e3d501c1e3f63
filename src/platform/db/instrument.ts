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

/**
 * Times every query of pg-compatible pools (node-postgres, Neon).
 *
 * `pool.query` is timed where it is called, not on the pooled client it checks out: when the
 * pool has to open a connection first, the client's query runs in the connection's event
 * callback, and in workerd that callback has lost the request's AsyncLocalStorage context (the
 * Worker's first query of every request went uncounted). Checked-out clients (transactions) are
 * timed per promise-form call; their callback form is what `pool.query` uses internally, already
 * timed above, so it is not counted twice.
 */
export function instrumentPool(pool: PoolLike): void {
  const poolQuery = pool.query.bind(pool);
  pool.query = (...args: any[]) => timed(poolQuery, args);
  pool.on("connect", (client) => {
    const query = client.query.bind(client);
    client.query = (...args: any[]) => {
      const last = args[args.length - 1];
      if (typeof args[0]?.submit === "function" || typeof last === "function") return query(...args);
      return measureDb(() => query(...args));
    };
  });
}
