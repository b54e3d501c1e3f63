import { z } from "@hono/zod-openapi";
import { withIfMatch } from "../../../http/api-layer-docs";
import type { App } from "../../../http/env";
import { checkIfMatch, etagOf } from "../../../http/etag";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { verbContext } from "../../../verbs";
import { BuildingParams, uuidParam } from "../../buildings/common";
import { PaymentFields, PaymentSchema, toPayment } from "../schemas";
import { updatePayment } from "../verbs";

/** kind and apartmentId are fixed once recorded: delete and record anew to change them. */
const UpdatePaymentSchema = z
  .strictObject({
    ...PaymentFields,
    amountMinor: PaymentFields.amountMinor.optional(),
    currency: PaymentFields.currency.optional(),
  })
  .refine((v) => Object.keys(v).length > 0, "give at least one field to change")
  .openapi("UpdatePayment");

const route = defineRoute(
  withIfMatch({
    method: "patch",
    operationId: "updatePayment",
    path: "/buildings/{buildingId}/payments/{paymentId}",
    tags: ["Payments"],
    summary: "Correct a due or payment (managers; audited with before/after)",
    access: "manager",
    request: {
      params: BuildingParams.extend({ paymentId: uuidParam("paymentId") }),
      body: { required: true, content: { "application/json": { schema: UpdatePaymentSchema } } },
    },
    responses: { 200: jsonContent(PaymentSchema, "The corrected row") },
    errors: [422],
  }),
);

export function registerUpdatePayment(app: App) {
  app.openapi(route, async (c) => {
    const { buildingId, paymentId } = c.req.valid("param");
    const row = await updatePayment({
      ctx: verbContext(c),
      buildingId,
      paymentId,
      input: c.req.valid("json"),
      precondition: (before) => checkIfMatch(c, etagOf(toPayment(before))),
    });
    const body = toPayment(row);
    // The new ETag, as GET serves it: the next write sends it in If-Match without a GET first.
    c.header("ETag", etagOf(body));
    return c.json(body, 200);
  });
}
