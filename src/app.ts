/**
 * createApp(services): the one Hono application every host serves. Middleware order is fixed
 * here and nowhere else:
 *   services → correlation id (request context) → request/response log + Server-Timing →
 *   body limit → routes (per-route auth) → onError (problem+json) / notFound.
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import { Scalar } from "@scalar/hono-api-reference";
import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "./http/body-limit";
import { correlation } from "./http/correlation";
import type { App, AppEnv } from "./http/env";
import { notFound, onError } from "./http/on-error";
import { requestLog } from "./http/request-log";
import { validationHook } from "./http/validation";
import { registerHealth } from "./modules/health";
import { apiModules } from "./modules/index";
import type { Services } from "./services";

export const API_PREFIX = "/api/v1";

export function newRouter(): App {
  return new OpenAPIHono<AppEnv>({ defaultHook: validationHook as never });
}

function provideServices(services: Services): MiddlewareHandler<AppEnv> {
  return async function servicesMiddleware(c, next) {
    c.set("services", services);
    await next();
  };
}

export function createApp(services: Services): App {
  const app = newRouter();
  app.onError(onError);
  app.notFound(notFound);

  app.use("*", provideServices(services));
  app.use("*", correlation());
  app.use("*", requestLog());
  app.use("*", bodyLimit(services.config.BODY_LIMIT_BYTES));

  registerHealth(app);

  const v1 = newRouter();
  for (const mod of apiModules) mod.register(v1);
  app.route(API_PREFIX, v1);

  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
  });
  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "Horizon API",
      version: services.version,
      description:
        "Edge-first backend for residential building management. Errors are RFC 9457 problem+json with a `code` and the request's `correlationId`.",
    },
    servers: [{ url: "/" }],
  });
  app.get("/docs", Scalar({ url: "/openapi.json", pageTitle: "Horizon API reference" }));
  return app;
}
