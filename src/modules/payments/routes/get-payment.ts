import { CACHE_POLICIES } from "../../../http/cache-control";
import type { App } from "../../../http/env";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { verbContext } from "../../../verbs";
import { BuildingParams, uuidParam } from "../../buildings/common";
import { PaymentSchema, toPayment } from "../schemas";
import { getPayment } from "../verbs";

const route = defineRoute({
  method: "get",
  operationId: "getPayment",
  path: "/buildings/{buildingId}/payments/{paymentId}",
  tags: ["Payments"],
  summary: "Read a due or payment (managers; residents of its apartment)",
  access: "member",
  request: { params: BuildingParams.extend({ paymentId: uuidParam("paymentId") }) },
  responses: { 200: jsonContent(PaymentSchema, "The row") },
});

export function registerGetPayment(app: App) {
  app.openapi(route, async (c) => {
    // Tenant data: only the client may keep it, revalidating with its ETag (a 304 when unchanged).
    const { buildingId, paymentId } = c.req.valid("param");
    return c.json(toPayment(await getPayment({ ctx: verbContext(c), buildingId, paymentId })), 200, {
      "Cache-Control": CACHE_POLICIES.privateRevalidate,
    });
  });
}
