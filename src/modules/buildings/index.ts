import type { App } from "../../http/env";

export function registerBuildings(app: App): void {
  void app;
}
