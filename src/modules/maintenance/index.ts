/**
 * Maintenance requests and their comments: residents report problems for their apartment,
 * managers triage them through a fixed status machine (see TRANSITIONS in verbs.ts).
 */
import type { App } from "../../http/env";
import { registerAddComment } from "./routes/add-comment";
import { registerGetRequest } from "./routes/get-request";
import { registerListComments } from "./routes/list-comments";
import { registerListRequests } from "./routes/list-requests";
import { registerOpenRequest } from "./routes/open-request";
import { registerUpdateRequest } from "./routes/update-request";

export function registerMaintenance(app: App): void {
  registerOpenRequest(app);
  registerListRequests(app);
  registerGetRequest(app);
  registerUpdateRequest(app);
  registerAddComment(app);
  registerListComments(app);
}
