/** `npm run api:lint`: Redocly's recommended rules over the served document of every version. */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { servedDocument } from "./document";
import { ROOT } from "./snapshot";

const dir = mkdtempSync(join(tmpdir(), "horizon-api-lint-"));
try {
  const file = join(dir, "openapi.json");
  writeFileSync(file, JSON.stringify(await servedDocument()));
  const r = spawnSync(`${ROOT}node_modules/.bin/redocly`, ["lint", file, "--extends", "recommended"], {
    stdio: "inherit",
    env: { ...process.env, REDOCLY_TELEMETRY: "off" },
  });
  process.exitCode = r.status ?? 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
