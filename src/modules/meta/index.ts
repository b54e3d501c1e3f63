/**
 * API metadata served under each version: which versions exist, their deprecation state and
 * how many requests each received per day (the evidence for retiring one), and the changelog.
 */
import type { App } from "../../http/env";
import { registerChangelog } from "./routes/changelog";
import { registerVersionUsage } from "./routes/version-usage";

export function registerMeta(app: App) {
  registerVersionUsage(app);
  registerChangelog(app);
}
