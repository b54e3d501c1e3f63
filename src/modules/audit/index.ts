/**
 * The audit trail (design property 32): every sensitive change appends a hash-chained row in its
 * own transaction (recordAudit in ./chain.ts); rows are immutable (database trigger). This module
 * serves a building's trail to its managers and verifies chains for platform administrators.
 */
import type { App } from "../../http/env";
import { registerListBuildingAudit } from "./routes/list-building-audit";
import { registerVerifyAuditChain } from "./routes/verify-chain";

export function registerAudit(app: App): void {
  registerListBuildingAudit(app);
  registerVerifyAuditChain(app);
}
