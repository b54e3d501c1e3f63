import type { App } from "../../../http/env";
import { defineRoute } from "../../../http/openapi";
import { verbContext } from "../../../verbs";
import { BuildingParams, uuidParam } from "../common";
import { removeMember } from "../member-verbs";

const route = defineRoute({
  method: "delete",
  operationId: "removeMember",
  path: "/buildings/{buildingId}/members/{memberId}",
  tags: ["Members"],
  summary: "Remove a member (managers); the last manager cannot be removed",
  access: "manager",
  request: { params: BuildingParams.extend({ memberId: uuidParam("memberId") }) },
  responses: { 204: { description: "Removed" } },
  errors: [409],
});

export function registerRemoveMember(app: App) {
  app.openapi(route, async (c) => {
    const { buildingId, memberId } = c.req.valid("param");
    await removeMember({ ctx: verbContext(c), buildingId, memberId });
    return c.body(null, 204);
  });
}
