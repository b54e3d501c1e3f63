import type { App } from "../../http/env";

export function registerRealtime(app: App): void {
  void app;
}
