/**
 * The circuit breaker of platform/breaker.ts against the design seed's rule (open after 5
 * consecutive failures, half-open after 30 s, closed after 3 successes), checked step by step
 * against a reference model written here from that rule, under an injected clock.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type BreakerState, createBreaker, DependencyUnavailableError } from "../../../src/platform/breaker";

type Step = { kind: "wait"; ms: number } | { kind: "call"; ok: boolean };

/** The seed's rule, sequential calls only. */
class Model {
  state: BreakerState = "closed";
  failures = 0;
  successes = 0;
  openedAt = 0;
  /** Whether a call made at `now` reaches the dependency. */
  admits(now: number): boolean {
    if (this.state === "open" && now - this.openedAt >= 30_000) {
      this.state = "half-open";
      this.successes = 0;
    }
    return this.state !== "open";
  }
  record(ok: boolean, now: number) {
    if (this.state === "closed") {
      this.failures = ok ? 0 : this.failures + 1;
      if (this.failures >= 5) this.open(now);
    } else if (!ok) this.open(now);
    else if (++this.successes >= 3) {
      this.state = "closed";
      this.failures = 0;
    }
  }
  open(now: number) {
    this.state = "open";
    this.openedAt = now;
    this.failures = 0;
  }
}

/** Runs of equal outcomes (so 5 failures or 3 successes in a row are common) and waits around 30 s. */
const steps: fc.Arbitrary<Step[]> = fc
  .array(
    fc.oneof(
      fc
        .tuple(fc.boolean(), fc.integer({ min: 1, max: 6 }))
        .map(([ok, n]) => Array.from({ length: n }, (): Step => ({ kind: "call", ok }))),
      fc
        .oneof(fc.integer({ min: 0, max: 40_000 }), fc.constantFrom(29_999, 30_000, 30_001))
        .map((ms): Step[] => [{ kind: "wait", ms }]),
    ),
    { minLength: 1, maxLength: 30 },
  )
  .map((runs) => runs.flat());

describe("circuit breaker", () => {
  it("follows the seed's rule for any sequence of calls and waits (5 failures open, 30 s half-open, 3 successes close)", async () => {
    await fc.assert(
      fc.asyncProperty(steps, async (steps) => {
        let now = 1_000_000;
        const changes: string[] = [];
        const breaker = createBreaker({
          name: "dep",
          now: () => now,
          onStateChange: ({ from, to }) => changes.push(`${from}>${to}`),
        });
        const model = new Model();
        const expectedChanges: string[] = [];
        let last: BreakerState = "closed";
        const track = () => {
          if (model.state !== last) expectedChanges.push(`${last}>${model.state}`);
          last = model.state;
        };
        for (const s of steps) {
          if (s.kind === "wait") {
            now += s.ms;
            continue;
          }
          const admitted = model.admits(now);
          track();
          let reached = false;
          const outcome = await breaker
            .run(async () => {
              reached = true;
              if (!s.ok) throw new Error("dependency failed");
              return "ok";
            })
            .then(
              () => "ok",
              (err: unknown) => err,
            );
          expect(reached).toBe(admitted);
          if (!admitted) {
            expect(outcome).toBeInstanceOf(DependencyUnavailableError);
            expect((outcome as DependencyUnavailableError).reason).toBe("open");
            // Retry-After points at the end of the open period.
            expect((outcome as DependencyUnavailableError).retryAfterMs).toBe(model.openedAt + 30_000 - now);
          } else {
            model.record(s.ok, now);
            track();
          }
          expect(breaker.state()).toBe(model.state);
        }
        expect(changes).toEqual(expectedChanges);
      }),
      { numRuns: 300 },
    );
  });

  it("opens on the 5th consecutive failure, not after 4 failures broken by a success", async () => {
    let now = 0;
    const breaker = createBreaker({ name: "dep", now: () => now });
    const fail = () => breaker.run(() => Promise.reject(new Error("x"))).catch(() => {});
    const succeed = () => breaker.run(async () => 1);
    for (let i = 0; i < 4; i++) await fail();
    await succeed();
    for (let i = 0; i < 4; i++) await fail();
    expect(breaker.state()).toBe("closed");
    await fail();
    expect(breaker.state()).toBe("open");
    now += 29_999;
    expect(breaker.state()).toBe("open");
    now += 1;
    expect(breaker.state()).toBe("half-open");
    await succeed();
    await succeed();
    expect(breaker.state()).toBe("half-open");
    await succeed();
    expect(breaker.state()).toBe("closed");
  });

  it("admits at most 3 probes at once while half-open, and ignores results of calls from before it opened", async () => {
    let now = 0;
    const breaker = createBreaker({ name: "dep", now: () => now });
    const early = breaker.admit()!;
    for (let i = 0; i < 5; i++) breaker.failure(breaker.admit()!);
    expect(breaker.state()).toBe("open");
    now += 30_000;
    const probes = [breaker.admit(), breaker.admit(), breaker.admit()];
    expect(probes.every((p) => p?.probe)).toBe(true);
    expect(breaker.admit()).toBeNull();
    // A call that started while closed reports late: it says nothing about the dependency now.
    breaker.failure(early);
    expect(breaker.state()).toBe("half-open");
    breaker.success(probes[0]!);
    expect(breaker.admit()).not.toBeNull();
    breaker.failure(probes[1]!);
    expect(breaker.state()).toBe("open");
    // The third probe answers after the breaker re-opened: ignored as well.
    breaker.success(probes[2]!);
    expect(breaker.state()).toBe("open");
  });

  it("counts only what isFailure calls a failure", async () => {
    const breaker = createBreaker({ name: "dep" });
    const answer = new Error("WRONGTYPE Operation against a key holding the wrong kind of value");
    for (let i = 0; i < 10; i++) {
      await breaker.run(() => Promise.reject(answer), { isFailure: (e) => e !== answer }).catch(() => {});
    }
    expect(breaker.state()).toBe("closed");
  });
});
