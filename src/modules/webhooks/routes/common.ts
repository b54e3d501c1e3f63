/**
 * Every endpoint operation exists twice: for a building (its managers) under
 * /buildings/{buildingId}/webhooks/endpoints and for the platform (administrators) under
 * /admin/webhooks/endpoints. `scoped` builds both route definitions from one description.
 */
import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv } from "../../../http/env";
import { BuildingParams, uuidParam } from "../../buildings/common";
import type { Scope } from "../verbs";

export const BUILDING_BASE = "/buildings/{buildingId}/webhooks/endpoints";
export const PLATFORM_BASE = "/admin/webhooks/endpoints";

export type ScopeKind = "building" | "platform";
export const SCOPES: readonly ScopeKind[] = ["building", "platform"];

/** The route's path, params schema, access and operationId for one scope. */
export function scoped(
  kind: ScopeKind,
  suffix: string,
  operation: string,
  extraParams: Record<string, z.ZodType> = {},
) {
  const building = kind === "building";
  const endpointParams = suffix.includes("{endpointId}") ? { endpointId: uuidParam("endpointId") } : {};
  return {
    path: `${building ? BUILDING_BASE : PLATFORM_BASE}${suffix}`,
    operationId: building ? operation : operation.replace(/^([a-z]+)/, "$1Platform"),
    access: building ? ("manager" as const) : ("admin" as const),
    params: building
      ? BuildingParams.extend({ ...endpointParams, ...extraParams })
      : z.object({ ...endpointParams, ...extraParams }),
    who: building ? "building managers" : "platform administrators",
  };
}

export function scopeOf(c: Context<AppEnv>): Scope {
  const buildingId = c.req.param("buildingId");
  return buildingId ? { kind: "building", buildingId } : { kind: "platform" };
}

export const deliveryIdParam = () => uuidParam("deliveryId");
