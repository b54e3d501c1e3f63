/** Building announcements: managers post, edit and delete (tombstones); members read, newest first. */
import type { App } from "../../http/env";
import { registerDeleteAnnouncement } from "./routes/delete-announcement";
import { registerGetAnnouncement } from "./routes/get-announcement";
import { registerListAnnouncements } from "./routes/list-announcements";
import { registerPostAnnouncement } from "./routes/post-announcement";
import { registerUpdateAnnouncement } from "./routes/update-announcement";

export function registerAnnouncements(app: App): void {
  registerPostAnnouncement(app);
  registerListAnnouncements(app);
  registerGetAnnouncement(app);
  registerUpdateAnnouncement(app);
  registerDeleteAnnouncement(app);
}
