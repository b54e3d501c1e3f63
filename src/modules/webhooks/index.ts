/**
 * Webhooks to outside systems (issue 17): building and platform endpoints subscribe to domain
 * event types; each event reaches them signed per Standard Webhooks, retried per the `webhooks`
 * policy, behind an SSRF guard and a per-endpoint circuit breaker. The fan-out handler is
 * registered here (any host); delivery needs Node (./deliver.ts, from workers/node-handlers.ts).
 */
import type { App } from "../../http/env";
import { registerWebhookDispatch } from "./dispatch";
import { registerCreateEndpoint } from "./routes/create-endpoint";
import { registerDeleteEndpoint } from "./routes/delete-endpoint";
import { registerEndpointHealth } from "./routes/endpoint-health";
import { registerGetEndpoint } from "./routes/get-endpoint";
import { registerListAttempts } from "./routes/list-attempts";
import { registerListDeliveries } from "./routes/list-deliveries";
import { registerListEndpoints } from "./routes/list-endpoints";
import { registerListEventTypes } from "./routes/list-event-types";
import { registerPingEndpoint } from "./routes/ping-endpoint";
import { registerReplayDelivery } from "./routes/replay-delivery";
import { registerReplayFailed } from "./routes/replay-failed";
import { registerRotateSecret } from "./routes/rotate-secret";
import { registerUpdateEndpoint } from "./routes/update-endpoint";

registerWebhookDispatch();

export function registerWebhooks(app: App): void {
  registerListEventTypes(app);
  registerCreateEndpoint(app);
  registerListEndpoints(app);
  registerGetEndpoint(app);
  registerUpdateEndpoint(app);
  registerDeleteEndpoint(app);
  registerRotateSecret(app);
  registerListDeliveries(app);
  registerListAttempts(app);
  registerReplayDelivery(app);
  registerReplayFailed(app);
  registerPingEndpoint(app);
  registerEndpointHealth(app);
}
