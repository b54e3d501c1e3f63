/**
 * Notifications, the deciding half: which domain events reach whom (./recipients.ts), in which
 * words (templates per type × locale × channel, ./templates.ts and admin overrides), on which
 * channels (preferences, quiet hours, presence; ./deliver.ts), the in-app inbox, and `notify` for
 * other modules. Sending pushes to devices is the push module's (the `notifications.push` topic).
 */
import type { App } from "../../http/env";
import { registerNotificationHandlers, subscribeNotifications } from "./handlers";
import { registerDeleteTemplate } from "./routes/delete-template";
import { registerGetPreferences } from "./routes/get-preferences";
import { registerGetQuietHours } from "./routes/get-quiet-hours";
import { registerListInbox } from "./routes/list-inbox";
import { registerListTemplates } from "./routes/list-templates";
import { registerMarkAllRead } from "./routes/mark-all-read";
import { registerMarkRead } from "./routes/mark-read";
import { registerPutPreferences } from "./routes/put-preferences";
import { registerPutQuietHours } from "./routes/put-quiet-hours";
import { registerPutTemplate } from "./routes/put-template";
import "./templates";

export { recordDuePayments } from "./due-payments";
export { notify } from "./notify";

// Every host that records domain events subscribes (so the rows are written), and every host that
// delivers outbox events can run the handlers (edge-safe).
subscribeNotifications();
registerNotificationHandlers();

export function registerNotifications(app: App): void {
  registerListInbox(app);
  registerMarkAllRead(app);
  registerMarkRead(app);
  registerGetPreferences(app);
  registerPutPreferences(app);
  registerGetQuietHours(app);
  registerPutQuietHours(app);
  registerListTemplates(app);
  registerPutTemplate(app);
  registerDeleteTemplate(app);
}
