import type { App } from "../../http/env";

export function registerAudit(app: App): void {
  void app;
}
