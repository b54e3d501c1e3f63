import { measureDb, startDbTimer } from "../../context";

interface PoolLike {
  on(event: "connect", listener: (client: { query: (...args: any[]) => any }) => void): unknown;
}

/**
 * Times every query of pg-compatible pools (node-postgres, Neon) by wrapping each client's
 * `query` as it connects: pool.query and transaction clients both go through it. Promise and callback
 * forms are timed; Submittable forms (cursors, streams) pass through untouched.
 */
export function instrumentPool(pool: PoolLike): void {
  pool.on("connect", (client) => {
    const query = client.query.bind(client);
    client.query = (...args: any[]) => {
      if (typeof args[0]?.submit === "function") return query(...args);
      const last = args[args.length - 1];
      if (typeof last === "function") {
        // pool.query uses the callback form on the pooled client.
        const done = startDbTimer();
        args[args.length - 1] = (...cbArgs: unknown[]) => {
          done();
          return last(...cbArgs);
        };
        return query(...args);
      }
      return measureDb(() => query(...args));
    };
  });
}
