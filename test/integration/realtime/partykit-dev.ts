/**
 * `partykit dev` on a free port with the given room variables, in its own process group so that
 * stopping it also ends the workerd it starts.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { stopGroup } from "../../e2e/wrangler";
import { freePort } from "../../support/net";

export interface PartykitDev {
  /** `127.0.0.1:<port>`, as PARTYKIT_HOST. */
  host: string;
  output(): string;
  stop(): Promise<void>;
}

export async function startPartykitDev(vars: Record<string, string>): Promise<PartykitDev> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    "node_modules/.bin/partykit",
    ["dev", "--port", String(port), ...Object.entries(vars).flatMap(([k, v]) => ["--var", `${k}=${v}`])],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, CI: "1" }, detached: true },
  );
  let out = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`partykit dev did not start:\n${out}`)), 90_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      if (out.includes("Ready on")) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.on("exit", (code) => reject(new Error(`partykit dev exited ${code}:\n${out}`)));
  });
  return { host: `127.0.0.1:${port}`, output: () => out, stop: () => stopGroup(child) };
}
