import type { App } from "../../http/env";

export function registerSync(app: App): void {
  void app;
}
