/**
 * Start: `npm start` on an empty DATA_DIR answers /health 200 within 5 s, and within 2 s when it
 * starts again on that DATA_DIR. Wall-clock figures of one machine, measured here rather than
 * asserted in CI.
 *
 * An empty DATA_DIR starts from the migrated PGlite template (src/platform/db/pglite-template.ts).
 * `npm install` prepares it (postinstall: scripts/db/pglite-template.ts), so a clone's
 * `npm install && npm start` measures: that install step (informational), then `npm start` on an
 * empty DATA_DIR (≤ 5 s) and again on that DATA_DIR (≤ 2 s). A start with no template at all
 * (`npm install --ignore-scripts`, or the temp folder cleared: initdb, every migration, then the
 * template is written) is measured beside them, without a budget. Each sample gets template
 * directories of its own (PGLITE_TEMPLATE_DIR), so none reads the suite's or another sample's.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { Figure } from "./figures";
import { startStandalone } from "./standalone-host";

interface Times {
  ms: number[];
  cpuS: number[];
}

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** package.json's postinstall, timed: prepares the template in `dir`. */
async function prepareTemplate(dir: string): Promise<number> {
  const started = performance.now();
  const { stdout } = await promisify(execFile)(
    join(ROOT, "node_modules", ".bin", "bun"),
    ["scripts/db/pglite-template.ts"],
    { cwd: ROOT, env: { ...process.env, PGLITE_TEMPLATE_DIR: dir } },
  );
  if (!stdout.includes("template written")) throw new Error(`template not written: ${stdout}`);
  return performance.now() - started;
}

export async function benchStart(): Promise<Figure[]> {
  const install: Times = { ms: [], cpuS: [] };
  const first: Times = { ms: [], cpuS: [] };
  const fromTemplate: Times = { ms: [], cpuS: [] };
  const again: Times = { ms: [], cpuS: [] };
  const add = (t: Times, s: { readyMs: number; readyCpuS: number | null }) => {
    t.ms.push(s.readyMs);
    if (s.readyCpuS !== null) t.cpuS.push(s.readyCpuS);
  };
  for (let i = 0; i < 2; i++) {
    const dir = await mkdtemp(join(tmpdir(), "horizon-start-"));
    const env = { PGLITE_TEMPLATE_DIR: join(dir, "templates") };
    try {
      install.ms.push(await prepareTemplate(env.PGLITE_TEMPLATE_DIR));
      const cold = await startStandalone(join(dir, "first"), { PGLITE_TEMPLATE_DIR: join(dir, "none") });
      add(first, cold);
      await cold.stop();
      const templated = await startStandalone(join(dir, "second"), env);
      add(fromTemplate, templated);
      await templated.stop();
      const restarted = await startStandalone(join(dir, "second"), env);
      add(again, restarted);
      await restarted.stop();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  // On a loaded machine the wall clock mostly measures waiting for a core; the CPU the start
  // needs is what an idle machine's wall clock approaches (Bun starts on one thread).
  const note = (t: Times) =>
    `best of ${t.ms.length}: ${t.ms.map((x) => (x / 1000).toFixed(2)).join(" / ")} s` +
    (t.cpuS.length ? `; CPU to ready ${t.cpuS.map((x) => x.toFixed(2)).join(" / ")} s` : "");
  const figure = (name: string, t: Times, max?: number): Figure => ({
    id: "Start",
    name,
    value: Math.min(...t.ms) / 1000,
    unit: "s",
    ...(max === undefined ? {} : { max }),
    note: note(t),
  });
  return [
    figure("npm install's template step (postinstall)", install),
    figure("npm start, empty DATA_DIR, after npm install → /health 200", fromTemplate, 5),
    figure("npm start again on that DATA_DIR → /health 200", again, 2),
    figure("npm start, empty DATA_DIR, no template (install scripts skipped) → /health 200", first),
  ];
}
