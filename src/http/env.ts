/**
 * The Hono environment of the app. Middleware and modules add their variables to
 * `AppVariables` by declaration merging, next to the code that sets them.
 */
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Services } from "../services";

export interface AppVariables {
  services: Services;
  correlationId: string;
}

/** What a host may pass as the Hono `env` (bindings on Workers, connection info on Bun/Node). */
export type HostBindings = Record<string, unknown> & {
  clientIp?: string;
  incoming?: { socket?: { remoteAddress?: string } };
};

export type AppEnv = { Variables: AppVariables; Bindings: HostBindings };
export type App = OpenAPIHono<AppEnv>;
