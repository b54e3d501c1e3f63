/**
 * Files: presigned direct uploads into quarantine/ (single PUT or resumable multipart), completion
 * that queues processing (`files.uploaded`), signed downloads of ready files, attachments of
 * maintenance requests, comments and announcements, and the housekeeping sweep. Bytes never pass
 * through the API (the filesystem adapter's own signed-URL routes stand in for a bucket).
 */
import type { App } from "../../http/env";
import { registerAbortUpload } from "./routes/abort-upload";
import { registerCompleteUpload } from "./routes/complete-upload";
import { registerCreateUpload } from "./routes/create-upload";
import { registerGetFile } from "./routes/get-file";
import { registerListUploadParts } from "./routes/list-parts";
import { registerPresignParts } from "./routes/presign-parts";

export function registerFiles(app: App): void {
  registerCreateUpload(app);
  registerPresignParts(app);
  registerListUploadParts(app);
  registerCompleteUpload(app);
  registerAbortUpload(app);
  registerGetFile(app);
}
