import type { App } from "../../http/env";

export function registerIdentity(app: App): void {
  void app;
}
