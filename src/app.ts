/**
 * createApp(services): the one Hono application every host serves. Middleware order is fixed
 * here and nowhere else:
 *   services → [one layer, ./http/pipeline.ts: correlation id (request context) → access log +
 *   Server-Timing → compression (outermost body transform, so it encodes the final bytes) →
 *   ETag / 304 (hashes the projected body) → body limit → i18n] →
 *   /api/vN only: versioning (Deprecation/Sunset, 410, usage counts) → rate limit (per user or
 *   IP, per route class; before auth) → client protocol (426 for SDKs too old to sync safely) →
 *   sparse fieldsets (projects before ETag hashes) →
 *   routes (per-route auth) → onError (problem+json) / notFound.
 * Every version in API_VERSIONS is mounted from the one loop below and serves every module of
 * `apiModules`, unless a module lists the versions it serves (`versions`): a v2 differs from v1
 * only where a module opts out or registers a new route for v2.
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import { Scalar } from "@scalar/hono-api-reference";
import type { MiddlewareHandler } from "hono";
import { documentApiLayer } from "./http/api-layer-docs";
import { needsRememberedJson, rememberJsonBodies } from "./http/body";
import { clientProtocol } from "./http/client-protocol";
import type { App, AppEnv } from "./http/env";
import { fields, responseSchemaIndex } from "./http/fields";
import { notFound, onError } from "./http/on-error";
import { requestPipeline } from "./http/pipeline";
import { rateLimit } from "./http/rate-limit";
import { validationHook } from "./http/validation";
import { versioning } from "./http/versioning";
import { registerHealth } from "./modules/health";
import { apiModules } from "./modules/index";
import { registerWebhookCatalogue } from "./modules/webhooks/openapi";
import type { Services } from "./services";

export const API_PREFIX = "/api/v1";

export function newRouter(): App {
  return new OpenAPIHono<AppEnv>({ defaultHook: validationHook as never });
}

function provideServices(services: Services): MiddlewareHandler<AppEnv> {
  return function servicesMiddleware(c, next) {
    c.set("services", services);
    return next();
  };
}

/** What building the app reads from the services: the rest is looked up per request (c.get("services")). */
export type AppBase = Pick<Services, "config" | "version" | "docsScript">;

export interface AppOptions {
  /**
   * Sets c.get("services") per request, for a host that builds its services per invocation (the
   * edge Worker: a Neon Pool, waitUntil and a cache per request) but the app once per isolate.
   */
  services: MiddlewareHandler<AppEnv>;
}

export function createApp(services: Services): App;
export function createApp(base: AppBase, options: AppOptions): App;
export function createApp(services: AppBase, options?: AppOptions): App {
  const app = newRouter();
  app.onError(onError);
  app.notFound(notFound);

  const setServices = options?.services ?? provideServices(services as Services);
  app.use("*", function requestSetup(c, next) {
    if (needsRememberedJson()) rememberJsonBodies(c);
    return setServices(c, next);
  });
  // Correlation id, access log, compression, ETag, body limit and i18n, as one layer (./http/pipeline.ts).
  app.use(
    "*",
    requestPipeline({
      bodyLimitBytes: services.config.BODY_LIMIT_BYTES,
      onError,
      bodyless: (c) => c.req.path.startsWith("/storage/") && Boolean(c.get("services").storage?.serve),
    }),
  );
  // Signed-URL uploads and downloads of an adapter the app serves itself (filesystem storage):
  // compression, ETag and the body limit must not touch object bytes (`bodyless` above).
  app.all("/storage/*", function signedStorage(c, next) {
    const storage = c.get("services").storage;
    return storage?.serve ? storage.serve(c.req.raw) : next();
  });

  registerHealth(app);

  const schemaFor = responseSchemaIndex(() => app.openAPIRegistry.definitions);
  for (const version of services.config.API_VERSIONS) {
    const prefix = `/api/${version}`;
    app.use(`${prefix}/*`, versioning({ version }));
    app.use(`${prefix}/*`, rateLimit());
    app.use(`${prefix}/*`, clientProtocol());
    app.use(`${prefix}/*`, fields({ schemaFor }));
    const router = newRouter();
    for (const mod of apiModules) if (!mod.versions || mod.versions.includes(version)) mod.register(router);
    app.route(prefix, router);
  }
  // The webhook event catalogue (OpenAPI 3.1 `webhooks`), once: webhooks carry no version prefix.
  registerWebhookCatalogue(app);

  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
  });
  const openapiDoc: Parameters<App["getOpenAPI31Document"]>[0] = {
    openapi: "3.1.0",
    info: {
      title: "Horizon API",
      version: services.version,
      description:
        "Edge-first backend for residential building management. Errors are RFC 9457 problem+json with a `code` and the request's `correlationId`.",
    },
    servers: [{ url: "/" }],
  };
  // Built once, on first request (every route is registered by then), then completed with what
  // the API-layer middleware adds to every operation (rate-limit headers, fields, ETags, deprecation).
  let document: unknown;
  app.get("/openapi.json", (c) => {
    document ??= documentApiLayer(app.getOpenAPI31Document(openapiDoc), services.config);
    return c.json(document as object);
  });
  const docsScript = services.docsScript;
  if (docsScript) {
    app.get("/docs/scalar.js", async (c) => {
      c.header("Cache-Control", "public, max-age=86400");
      return c.body(await docsScript(), 200, { "Content-Type": "text/javascript; charset=utf-8" });
    });
  }
  app.get(
    "/docs",
    Scalar({
      url: "/openapi.json",
      pageTitle: "Horizon API reference",
      ...(docsScript ? { cdn: "/docs/scalar.js" } : {}),
    }),
  );
  return app;
}
