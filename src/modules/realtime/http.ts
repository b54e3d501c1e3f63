/** Problem documents for room refusals answered outside Hono (room upgrades, PartyKit). */
import { ApiError } from "../../errors";
import { toProblem } from "../../http/errors";

export function problemBody(
  code: "UNAUTHENTICATED" | "TOKEN_EXPIRED" | "FORBIDDEN" | "BAD_REQUEST",
  detail: string,
  correlationId: string = crypto.randomUUID(),
) {
  return toProblem(new ApiError(code, detail), correlationId);
}
