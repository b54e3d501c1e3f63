import type { App } from "../../http/env";

export function registerMaintenance(app: App): void {
  void app;
}
