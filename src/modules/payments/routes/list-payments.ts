import { z } from "@hono/zod-openapi";
import { CACHE_POLICIES } from "../../../http/cache-control";
import type { App } from "../../../http/env";
import { defineRoute, jsonContent } from "../../../http/openapi";
import { PaginationQuerySchema, paginatedSchema } from "../../../http/pagination";
import { verbContext } from "../../../verbs";
import { BuildingParams } from "../../buildings/common";
import { PaymentSchema, toPayment } from "../schemas";
import { listPayments } from "../verbs";

const PaymentPageSchema = paginatedSchema(PaymentSchema, "PaymentPage");

const QuerySchema = PaginationQuerySchema.extend({
  apartmentId: z
    .uuid()
    .optional()
    .openapi({ param: { name: "apartmentId", in: "query" } }),
  kind: z
    .enum(["due", "payment"])
    .optional()
    .openapi({ param: { name: "kind", in: "query" } }),
});

const route = defineRoute({
  method: "get",
  operationId: "listPayments",
  path: "/buildings/{buildingId}/payments",
  tags: ["Payments"],
  summary: "List dues and payments, newest first (managers: all; residents: their apartment's)",
  access: "member",
  request: { params: BuildingParams, query: QuerySchema },
  responses: { 200: jsonContent(PaymentPageSchema, "A page of dues and payments") },
});

export function registerListPayments(app: App) {
  app.openapi(route, async (c) => {
    // Tenant data: only the client may keep it, revalidating with its ETag (a 304 when unchanged).
    const { buildingId } = c.req.valid("param");
    const { apartmentId, kind, ...query } = c.req.valid("query");
    const page = await listPayments({ ctx: verbContext(c), buildingId, query, apartmentId, kind });
    return c.json({ data: page.data.map(toPayment), pagination: page.pagination }, 200, {
      "Cache-Control": CACHE_POLICIES.privateRevalidate,
    });
  });
}
