/**
 * Polling for a condition in tests that watch another process, a queue or a socket: resolves with
 * the first truthy value `fn` gives, fails naming `what` after `timeoutMs`. A deadline, not a
 * timing assertion: it only bounds how long a broken build waits before failing.
 */
export type Probe<T> = () => Promise<T | null | undefined | false> | T | null | undefined | false;

export async function waitFor<T>(what: string, fn: Probe<T>, timeoutMs = 15_000, everyMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value as T;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
