/**
 * createApp's app-wide middleware list in its order (src/app.ts), for measuring each one's share:
 * `buildStack(services, depth)` serves the real liveness route behind the services middleware and
 * the next `depth` middlewares. Keep STACK_LAYERS in step with createApp when the order changes.
 */
import type { MiddlewareHandler } from "hono";
import { newRouter } from "../../../src/app";
import { bodyLimit } from "../../../src/http/body-limit";
import { compression } from "../../../src/http/compression";
import { correlation } from "../../../src/http/correlation";
import type { App, AppEnv } from "../../../src/http/env";
import { etag } from "../../../src/http/etag";
import { notFound, onError } from "../../../src/http/on-error";
import { requestLog } from "../../../src/http/request-log";
import { registerLiveness } from "../../../src/modules/health/routes/liveness";
import { i18n } from "../../../src/modules/i18n/middleware";
import type { Services } from "../../../src/services";

export const STACK_LAYERS = [
  "services + liveness route",
  "correlation",
  "request log",
  "compression",
  "etag",
  "body limit",
  "i18n",
] as const;

export function buildStack(services: Services, depth: number): App {
  const layers: MiddlewareHandler<AppEnv>[] = [
    function servicesMiddleware(c, next) {
      c.set("services", services);
      return next();
    },
    correlation(),
    requestLog(),
    compression(),
    etag(),
    bodyLimit(services.config.BODY_LIMIT_BYTES),
    i18n(),
  ];
  const app = newRouter();
  app.onError(onError);
  app.notFound(notFound);
  for (const layer of layers.slice(0, depth + 1)) app.use("*", layer);
  registerLiveness(app);
  return app;
}
