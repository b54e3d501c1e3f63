import { CACHE_POLICIES } from "../../../http/cache-control";
import type { App } from "../../../http/env";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { verbContext } from "../../../verbs";
import { BuildingParams, uuidParam } from "../../buildings/common";
import { BalanceSchema } from "../schemas";
import { apartmentBalance } from "../verbs";

const route = defineRoute({
  method: "get",
  operationId: "getApartmentBalance",
  path: "/buildings/{buildingId}/apartments/{apartmentId}/balance",
  tags: ["Payments"],
  summary: "An apartment's balance per currency: dues − payments (managers; its residents)",
  access: "member",
  request: { params: BuildingParams.extend({ apartmentId: uuidParam("apartmentId") }) },
  responses: { 200: jsonContent(BalanceSchema, "Balances per currency") },
});

export function registerApartmentBalance(app: App) {
  app.openapi(route, async (c) => {
    // Tenant data: only the client may keep it, revalidating with its ETag (a 304 when unchanged).
    const { buildingId, apartmentId } = c.req.valid("param");
    return c.json(await apartmentBalance({ ctx: verbContext(c), buildingId, apartmentId }), 200, {
      "Cache-Control": CACHE_POLICIES.privateRevalidate,
    });
  });
}
