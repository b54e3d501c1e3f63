/**
 * Start: `npm start` on an empty DATA_DIR answers /health 200 within 5 s (PGlite creates its
 * database and the migrations run), and within 2 s when it starts again on that DATA_DIR.
 * Wall-clock figures of one machine, measured here rather than asserted in CI.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Figure } from "./figures";
import { startStandalone } from "./standalone-host";

export async function benchStart(): Promise<Figure[]> {
  const cold: number[] = [];
  const warm: number[] = [];
  const cpu = { cold: [] as number[], warm: [] as number[] };
  for (let i = 0; i < 2; i++) {
    const dir = await mkdtemp(join(tmpdir(), "horizon-start-"));
    try {
      const first = await startStandalone(join(dir, "data"));
      cold.push(first.readyMs);
      if (first.readyCpuS !== null) cpu.cold.push(first.readyCpuS);
      await first.stop();
      const again = await startStandalone(join(dir, "data"));
      warm.push(again.readyMs);
      if (again.readyCpuS !== null) cpu.warm.push(again.readyCpuS);
      await again.stop();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  // On a loaded machine the wall clock mostly measures waiting for a core; the CPU the start
  // needs is what an idle machine's wall clock approaches (Bun starts on one thread).
  const c = (xs: number[]) =>
    xs.length ? `; CPU to ready ${xs.map((x) => x.toFixed(2)).join(" / ")} s` : "";
  return [
    {
      id: "Start",
      name: "npm start, empty DATA_DIR → /health 200",
      value: Math.min(...cold) / 1000,
      unit: "s",
      max: 5,
      note: `best of ${cold.length}: ${cold.map((x) => (x / 1000).toFixed(2)).join(" / ")} s`,
    },
    {
      id: "Start",
      name: "npm start again on that DATA_DIR → /health 200",
      value: Math.min(...warm) / 1000,
      unit: "s",
      max: 2,
      note: `best of ${warm.length}: ${warm.map((x) => (x / 1000).toFixed(2)).join(" / ")} s${c(cpu.warm)}`,
    },
  ];
}
