/**
 * A small deterministic network between SDK clients and the real app, for model-based tests.
 * Every request consumes one fault decision: deliver; drop the request; drop the response; send
 * it twice in a row, or twice at once (two identical pushes in the database together); send a
 * stray copy later; hold it until the scheduler delivers it (reordering it against everything
 * else); or answer it without the app as a proxy in trouble would — 429 and 503 with
 * Retry-After, 500 — or with 502 after the app did the work. The server can also restart: held
 * requests die with it (some after the app processed them), and later requests reach a new app
 * (fresh services, kv and caches) over the same database.
 * Every answer the app gives is recorded: anything but 200 (or the app's own 429) is a finding.
 */
import type { TestApp } from "../../support/app";
import { createTestApp } from "../../support/app";

export const FAULTS = [
  "ok",
  "dropReq",
  "dropRes",
  "dup",
  "dupConcurrent",
  "dupLater",
  "delay",
  "e429",
  "e503",
  "e500",
  "e502after",
] as const;
export type Fault = (typeof FAULTS)[number];
/** Statuses the network itself answers with: the SDK must treat them as transient. */
export const INJECTED_STATUS: Partial<Record<Fault, number>> = {
  e429: 429,
  e503: 503,
  e500: 500,
  e502after: 502,
};

export interface Held {
  client: number;
  deliver: () => Promise<void>;
  /** The server died with this request in flight, after processing it or before. */
  die?: (processed: boolean) => Promise<void>;
}

const problem = (status: number, code: string, retryAfter?: string) =>
  new Response(JSON.stringify({ type: "about:blank", title: code, status, code, correlationId: "proxy" }), {
    status,
    headers: {
      "content-type": "application/problem+json",
      ...(retryAfter ? { "retry-after": retryAfter } : {}),
    },
  });

export class Network {
  private faultIndex = 0;
  faultsOn = true;
  /** Requests held back, and stray duplicates still in flight. */
  held: Held[] = [];
  /** Every push result seen per opId (a replay must answer exactly the first result). */
  results = new Map<string, unknown[]>();
  /** Every op pushed, by opId (first copy), with the first answer it got. */
  ops = new Map<string, { op: any; userId: string; result: any }>();
  /** The schedule as it ran: scheduler steps and each request's fault, for counting distinct runs. */
  trace: string[] = [];
  /** Faults applied to requests, by kind. */
  applied = new Map<Fault, number>();
  /** App answers other than 200 (and its own 429), and exceptions of the app itself. */
  bad: Array<{ url: string; status: number | "threw"; body: string }> = [];
  /** Answers of the app by status. */
  statuses = new Map<number, number>();
  private app: TestApp["app"];
  private restarted: TestApp[] = [];
  private parkWaiters = new Map<number, Array<() => void>>();

  constructor(
    private readonly t: TestApp,
    private readonly faults: Fault[],
  ) {
    this.app = t.app;
  }

  private next(client: number, url: string): Fault {
    const fault: Fault =
      !this.faultsOn || this.faults.length === 0
        ? "ok"
        : this.faults[this.faultIndex++ % this.faults.length]!;
    this.applied.set(fault, (this.applied.get(fault) ?? 0) + 1);
    this.trace.push(`${client}${url.endsWith("/sync/push") ? "P" : "L"}${fault}`);
    return fault;
  }

  /** Resolves when `client` parks a request (the scheduler's "blocked" signal). */
  parked(client: number): Promise<void> {
    return new Promise((resolve) =>
      this.parkWaiters.set(client, [...(this.parkWaiters.get(client) ?? []), resolve]),
    );
  }

  /**
   * The server process restarts. Requests it held die (`pick` decides, per request, whether the
   * app had processed it); a new app over the same database answers from now on.
   */
  async restartServer(pick: number): Promise<void> {
    const dying = this.held.filter((h) => h.die);
    this.held = this.held.filter((h) => !h.die);
    for (const [k, h] of dying.entries()) await h.die!((pick >> k) % 2 === 0);
    const fresh = await createTestApp({ database: this.t.services.database });
    this.restarted.push(fresh);
    this.app = fresh.app;
  }

  async close(): Promise<void> {
    for (const r of this.restarted) await r.close();
  }

  fetchFor(client: number, userId: string, alive: () => boolean): typeof fetch {
    return (async (input: RequestInfo | URL, init?: RequestInit) => {
      if (!alive()) throw new TypeError("process gone");
      const url = String(input);
      const body = String(init?.body ?? "");
      const send = async () => {
        let res: Response;
        let text: string;
        try {
          res = await this.app.request(url, { method: init?.method, headers: init?.headers, body });
          text = await res.text();
        } catch (err) {
          this.bad.push({ url, status: "threw", body: String(err) });
          throw err;
        }
        this.statuses.set(res.status, (this.statuses.get(res.status) ?? 0) + 1);
        // The app's own 429 is a legitimate answer (its rate limit); anything else but 200 is not.
        if (res.status !== 200 && !(res.status === 429 && res.headers.get("retry-after")))
          this.bad.push({ url, status: res.status, body: text });
        if (url.endsWith("/sync/push") && res.status === 200) this.record(body, text, userId);
        return new Response(text, { status: res.status, headers: res.headers });
      };
      const guard = (res: Response) => {
        if (!alive()) throw new TypeError("process gone");
        return res;
      };
      switch (this.next(client, url)) {
        case "dropReq":
          throw new TypeError("network unreachable");
        case "dropRes":
          await send();
          throw new TypeError("connection reset");
        case "dup":
          await send();
          return guard(await send());
        case "dupConcurrent": {
          const [, second] = await Promise.all([send(), send()]);
          return guard(second);
        }
        case "dupLater":
          this.held.push({ client: -1, deliver: async () => void (await send()) });
          return guard(await send());
        case "e429":
          return guard(problem(429, "RATE_LIMITED", "1"));
        case "e503":
          return guard(problem(503, "DEPENDENCY_UNAVAILABLE", "2"));
        case "e500":
          return guard(problem(500, "INTERNAL"));
        case "e502after":
          await send();
          return guard(problem(502, "BAD_GATEWAY"));
        case "delay":
          return new Promise<Response>((resolve, reject) => {
            this.held.push({
              client,
              deliver: async () => {
                try {
                  resolve(guard(await send()));
                } catch (err) {
                  reject(err);
                }
              },
              die: async (processed) => {
                if (processed) await send().catch(() => {});
                reject(new TypeError("connection reset: server restarted"));
              },
            });
            for (const wake of this.parkWaiters.get(client) ?? []) wake();
            this.parkWaiters.delete(client);
          });
        default:
          return guard(await send());
      }
    }) as typeof fetch;
  }

  private record(body: string, text: string, userId: string): void {
    const req = JSON.parse(body) as { ops: any[] };
    const res = JSON.parse(text) as { results: unknown[] };
    req.ops.forEach((op, i) => {
      if (!this.ops.has(op.opId)) this.ops.set(op.opId, { op, userId, result: res.results[i] });
      const list = this.results.get(op.opId) ?? [];
      list.push(res.results[i]);
      this.results.set(op.opId, list);
    });
  }
}
