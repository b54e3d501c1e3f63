/**
 * The capabilities mounted under each versioned API prefix. Each module's `register` adds its own
 * routes; adding a module is one line here, never a list of routes in a host.
 */
import type { App } from "../http/env";
import { registerAnnouncements } from "./announcements";
import { registerAudit } from "./audit";
import { registerBuildings } from "./buildings";
import { registerFiles } from "./files";
import { registerIdentity } from "./identity";
import { registerMaintenance } from "./maintenance";
import { registerMeta } from "./meta";
import { registerNotifications } from "./notifications";
import { registerOutbox } from "./outbox";
import { registerPayments } from "./payments";
import { registerPush } from "./push";
import { registerRealtime } from "./realtime";
import { registerSync } from "./sync";
import { registerWebhooks } from "./webhooks";

type Register = (app: App) => void;

/** `versions`: the API versions that serve the module (default: every version in API_VERSIONS). */
export const apiModules: Array<{ name: string; register: Register; versions?: readonly string[] }> = [
  { name: "identity", register: registerIdentity },
  { name: "buildings", register: registerBuildings },
  { name: "maintenance", register: registerMaintenance },
  { name: "announcements", register: registerAnnouncements },
  { name: "payments", register: registerPayments },
  { name: "files", register: registerFiles },
  { name: "audit", register: registerAudit },
  { name: "sync", register: registerSync },
  { name: "realtime", register: registerRealtime },
  { name: "meta", register: registerMeta },
  { name: "outbox", register: registerOutbox },
  { name: "webhooks", register: registerWebhooks },
  { name: "push", register: registerPush },
  { name: "notifications", register: registerNotifications },
];
