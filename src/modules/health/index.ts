/** Liveness and readiness probes, outside the versioned API so load balancers need no version. */
import type { App } from "../../http/env";
import { registerLiveness } from "./routes/liveness";
import { registerReadiness } from "./routes/readiness";

export function registerHealth(app: App) {
  registerLiveness(app);
  registerReadiness(app);
}
