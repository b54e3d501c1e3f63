import type { App } from "../../../http/env";
import { defineRoute } from "../../../http/openapi";
import { verbContext } from "../../../verbs";
import { BuildingParams, uuidParam } from "../../buildings/common";
import { deletePayment } from "../verbs";

const route = defineRoute({
  method: "delete",
  operationId: "deletePayment",
  path: "/buildings/{buildingId}/payments/{paymentId}",
  tags: ["Payments"],
  summary: "Delete a due or payment (managers; audited; a tombstone for sync)",
  access: "manager",
  request: { params: BuildingParams.extend({ paymentId: uuidParam("paymentId") }) },
  responses: { 204: { description: "Deleted" } },
});

export function registerDeletePayment(app: App) {
  app.openapi(route, async (c) => {
    const { buildingId, paymentId } = c.req.valid("param");
    await deletePayment({ ctx: verbContext(c), buildingId, paymentId });
    return c.body(null, 204);
  });
}
