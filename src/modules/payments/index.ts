import type { App } from "../../http/env";

export function registerPayments(app: App): void {
  void app;
}
