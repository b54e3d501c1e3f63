import type { App } from "../../http/env";

export function registerAnnouncements(app: App): void {
  void app;
}
