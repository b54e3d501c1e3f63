/**
 * What the files module promises the processing side (the `files.uploaded` handler on the job
 * service): the topic and its payload. The upload-complete verb records it in the same
 * transaction that marks the file `uploaded`; family `files` retries twice, at 5 s and 10 s.
 */
import { z } from "zod";

export const FILES_UPLOADED_TOPIC = "files.uploaded";

export const FileUploadedPayload = z.object({ fileId: z.uuid() });
export type FileUploadedPayload = z.infer<typeof FileUploadedPayload>;

/** Generated storage keys (a client's file name never becomes part of one). */
export const fileKeys = {
  /** Where the client uploads; never served. */
  quarantine: (buildingId: string, fileId: string) => `quarantine/${buildingId}/${fileId}`,
  /** Promoted objects: `files/<building>/<file>/<variant>.<ext>` (variant: original, thumb_150, …). */
  final: (buildingId: string, fileId: string, variant: string, ext: string) =>
    `files/${buildingId}/${fileId}/${variant}.${ext}`,
  /** Every promoted object of a file lives under this prefix. */
  finalPrefix: (buildingId: string, fileId: string) => `files/${buildingId}/${fileId}/`,
} as const;
