/**
 * One bench section in a process of its own (run.ts forks this file per section): argv is the
 * section's module and export. The figures go back over IPC, then the process exits, taking the
 * section's pools, timers and heap with it.
 */
import { pathToFileURL } from "node:url";

const [file, exportName] = process.argv.slice(2);
if (!file || !exportName || !process.send) {
  console.error("usage: forked by test/bench/run.ts with <module> <export>");
  process.exit(2);
}
const mod = (await import(pathToFileURL(file).href)) as Record<string, () => Promise<unknown>>;
const run = mod[exportName];
if (typeof run !== "function") throw new Error(`${file} has no export ${exportName}`);
const figures = await run();
process.send(figures, () => process.exit(0));
