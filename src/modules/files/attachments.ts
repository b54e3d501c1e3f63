/**
 * Attachments in their parents' reads (maintenance requests, comments, announcements): one query
 * per page, no URLs (signed URLs expire, so they come from GET …/files/{fileId}; a read keeps a
 * stable ETag). Pending uploads are left out; processing, ready, rejected and infected files show
 * with their status. Imports nothing of the parents' modules, so their routes may import it.
 */
import { and, eq, inArray, isNull } from "drizzle-orm";
import type { VerbContext } from "../../verbs";
import { type AttachmentDto, toAttachment } from "./schemas";
import { type AttachmentType, storedFiles } from "./tables";

/** The attachments of each parent id, oldest first. */
export async function attachmentsOf(
  ctx: VerbContext,
  buildingId: string,
  type: AttachmentType,
  parentIds: readonly string[],
): Promise<Map<string, AttachmentDto[]>> {
  const out = new Map<string, AttachmentDto[]>();
  if (!parentIds.length) return out;
  const rows = await ctx.db
    .select()
    .from(storedFiles)
    .where(
      and(
        eq(storedFiles.buildingId, buildingId),
        eq(storedFiles.attachedType, type),
        inArray(storedFiles.attachedId, [...new Set(parentIds)]),
        isNull(storedFiles.deletedAt),
      ),
    )
    .orderBy(storedFiles.createdAt, storedFiles.id);
  for (const r of rows) {
    if (r.status === "pending") continue;
    const list = out.get(r.attachedId!) ?? [];
    list.push(toAttachment(r));
    out.set(r.attachedId!, list);
  }
  return out;
}

/** `items` with their `attachments` (an empty list when none). */
export async function withAttachments<T extends { id: string }>(
  ctx: VerbContext,
  buildingId: string,
  type: AttachmentType,
  items: T[],
): Promise<Array<T & { attachments: AttachmentDto[] }>> {
  const byParent = await attachmentsOf(
    ctx,
    buildingId,
    type,
    items.map((i) => i.id),
  );
  return items.map((i) => ({ ...i, attachments: byParent.get(i.id) ?? [] }));
}
