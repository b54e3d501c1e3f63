import { z } from "@hono/zod-openapi";
import type { App } from "../../../http/env";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { verbContext } from "../../../verbs";
import { BuildingParams } from "../../buildings/common";
import { PaymentFields, PaymentSchema, toPayment } from "../schemas";
import { recordPayment } from "../verbs";

const RecordPaymentSchema = z
  .strictObject({
    apartmentId: z.uuid(),
    kind: z
      .enum(["due", "payment"])
      .openapi({ description: "due: the apartment owes it; payment: it paid it" }),
    ...PaymentFields,
    currency: PaymentFields.currency
      .optional()
      .openapi({ description: "ISO 4217; defaults to the building's" }),
  })
  .openapi("RecordPayment");

const route = defineRoute({
  method: "post",
  operationId: "recordPayment",
  path: "/buildings/{buildingId}/payments",
  tags: ["Payments"],
  summary: "Record a due or a payment for an apartment (managers; audited)",
  access: "manager",
  request: {
    params: BuildingParams,
    body: { required: true, content: { "application/json": { schema: RecordPaymentSchema } } },
  },
  responses: { 201: jsonContent(PaymentSchema, "The recorded row") },
  errors: [422],
});

export function registerRecordPayment(app: App) {
  app.openapi(route, async (c) => {
    const { buildingId } = c.req.valid("param");
    const row = await recordPayment({ ctx: verbContext(c), buildingId, input: c.req.valid("json") });
    c.header("Location", `${new URL(c.req.url).pathname}/${row.id}`);
    return c.json(toPayment(row), 201);
  });
}
