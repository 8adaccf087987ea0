// Owns replacing a live file's content: the new bytes are already stored and verified elsewhere (a
// new object at its own key); one batch then switches the file's record to them and queues the old
// object for deletion through the owed-cleanup queue, so the file never shows partial content and
// the old object is never lost track of. The file keeps its id, name, shares and properties.
import { and, eq, isNull, sql } from "drizzle-orm";
import { randomId } from "../../shared/crypto.ts";
import { files, pendingObjectDeletions } from "../db/schema.ts";
import type { Services } from "../services.ts";
import { deletePendingObjects } from "./purge.ts";
import { cleanContentType, type FileRow } from "./records.ts";

export interface NewContent {
  size: number;
  sha256: string;
  contentType?: string;
  policyId: string;
  storageKey: string;
  location: string | null;
}

/** The file with its new content, or null when it is no longer live (trashed or purged meanwhile). */
export async function replaceFileContent(
  services: Services,
  fileId: string,
  content: NewContent,
): Promise<FileRow | null> {
  const now = services.now();
  const pendingId = `rc_${randomId()}`;
  const live = and(eq(files.id, fileId), isNull(files.trashedAt));
  // Read and switched inside one batch: the object queued is exactly the one the record pointed at.
  const [, switched] = await services.db.batch([
    services.db.run(sql`insert into ${pendingObjectDeletions}
      (id, policy_id, storage_key, location, attempts, next_attempt_at, created_at)
      select ${pendingId}, ${files.policyId}, ${files.storageKey}, ${files.location}, 0, ${now.getTime()}, ${now.getTime()}
      from ${files} where ${live} and ${files.storageKey} != ${content.storageKey}`),
    services.db
      .update(files)
      .set({
        size: content.size,
        sha256: content.sha256,
        contentType: cleanContentType(content.contentType),
        policyId: content.policyId,
        storageKey: content.storageKey,
        location: content.location,
        updatedAt: now,
      })
      .where(live)
      .returning(),
  ]);
  const row = switched[0];
  if (!row) return null;
  await deletePendingObjects(services, [pendingId]);
  return row;
}
