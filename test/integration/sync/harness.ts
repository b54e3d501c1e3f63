/**
 * A small deterministic network between SDK clients and the real app, for model-based tests.
 * Every request consumes one fault decision: deliver, drop the request, drop the response,
 * duplicate it now, duplicate it later (a stray retransmit delivered at a random later step), or
 * hold it until the scheduler delivers it (reordering it against everything else).
 */
import type { TestApp } from "../../support/app";

export type Fault = "ok" | "dropReq" | "dropRes" | "dup" | "dupLater" | "delay";

export interface Held {
  client: number;
  deliver: () => Promise<void>;
}

export class Network {
  decisions = 0;
  private faultIndex = 0;
  faultsOn = true;
  /** Requests held back, and stray duplicates still in flight. */
  held: Held[] = [];
  /** Every push result seen per opId (a replay must answer exactly the first result). */
  results = new Map<string, unknown[]>();
  /** Every op pushed, by opId (first copy). */
  ops = new Map<string, { op: any; userId: string }>();
  private parkWaiters = new Map<number, () => void>();

  constructor(
    private readonly t: TestApp,
    private readonly faults: Fault[],
  ) {}

  private next(): Fault {
    this.decisions++;
    if (!this.faultsOn || this.faults.length === 0) return "ok";
    return this.faults[this.faultIndex++ % this.faults.length]!;
  }

  /** Resolves when `client` parks a request (the scheduler's "blocked" signal). */
  parked(client: number): Promise<void> {
    return new Promise((resolve) => this.parkWaiters.set(client, resolve));
  }

  fetchFor(client: number, userId: string, alive: () => boolean): typeof fetch {
    return (async (input: RequestInfo | URL, init?: RequestInit) => {
      if (!alive()) throw new TypeError("process gone");
      const url = String(input);
      const body = String(init?.body ?? "");
      const send = async () => {
        const res = await this.t.app.request(url, { method: init?.method, headers: init?.headers, body });
        const text = await res.text();
        if (url.endsWith("/sync/push") && res.status === 200) this.record(body, text, userId);
        return new Response(text, { status: res.status, headers: res.headers });
      };
      const guard = (res: Response) => {
        if (!alive()) throw new TypeError("process gone");
        return res;
      };
      switch (this.next()) {
        case "dropReq":
          throw new TypeError("network unreachable");
        case "dropRes":
          await send();
          throw new TypeError("connection reset");
        case "dup":
          await send();
          return guard(await send());
        case "dupLater":
          this.held.push({ client: -1, deliver: async () => void (await send()) });
          return guard(await send());
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
            });
            this.parkWaiters.get(client)?.();
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
      if (!this.ops.has(op.opId)) this.ops.set(op.opId, { op, userId });
      const list = this.results.get(op.opId) ?? [];
      list.push(res.results[i]);
      this.results.set(op.opId, list);
    });
  }
}
