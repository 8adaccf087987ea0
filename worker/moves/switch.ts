// Owns the moment a file changes storage, and what is left behind. The switch is one guarded UPDATE:
// the file still has the policy, key, location, size, SHA-256 and trash state its copy was made
// from (not purged, trashed or restored, or replaced meanwhile), its job is still active and this
// runner still holds its item. In the same batch the old object is queued for deletion through the
// owed-cleanup machinery purges use (pending_object_deletions), after a grace period that lets
// downloads already handed the old location (a presigned URL lives 5 minutes) finish, and the item
// is marked done. A copy that is not switched is queued for deletion itself.
import { and, eq, isNull, sql } from "drizzle-orm";
import { randomId } from "../../shared/crypto.ts";
import { files, moveItems, moveJobs, pendingObjectDeletions } from "../db/schema.ts";
import { deletePendingObjects } from "../files/purge.ts";
import type { FileRow } from "../files/records.ts";
import { PRESIGNED_DOWNLOAD_TTL_SECONDS } from "../files/serve.ts";
import type { Services } from "../services.ts";

/** The old object outlives the switch by this much: every URL to it handed out before has expired. */
export const OLD_OBJECT_GRACE_MS = 2 * PRESIGNED_DOWNLOAD_TTL_SECONDS * 1000;

export interface Copied {
  jobId: string;
  claim: string;
  /** The file as it was read before its bytes were copied. */
  file: FileRow;
  targetPolicyId: string;
  destKey: string;
  destLocation: string | null;
  path: "pull" | "relay";
}

/** Switches the file to its copy; true when it did (false: something changed meanwhile). */
export async function switchToCopy(services: Services, copy: Copied): Promise<boolean> {
  const { file } = copy;
  const now = services.now().getTime();
  const unchanged = and(
    eq(files.id, file.id),
    eq(files.policyId, file.policyId),
    eq(files.storageKey, file.storageKey),
    file.location === null ? isNull(files.location) : eq(files.location, file.location),
    eq(files.size, file.size),
    eq(files.sha256, file.sha256),
    file.trashedAt === null ? isNull(files.trashedAt) : eq(files.trashedAt, file.trashedAt),
    sql`exists (select 1 from ${moveJobs} where ${moveJobs.id} = ${copy.jobId} and ${moveJobs.state} in ('running', 'paused'))`,
    sql`exists (select 1 from ${moveItems} where ${moveItems.jobId} = ${copy.jobId} and ${moveItems.fileId} = ${file.id} and ${moveItems.claim} = ${copy.claim})`,
  );
  const switched = and(eq(files.id, file.id), eq(files.storageKey, copy.destKey));
  const [moved] = await services.db.batch([
    services.db
      .update(files)
      .set({ policyId: copy.targetPolicyId, storageKey: copy.destKey, location: copy.destLocation })
      .where(unchanged)
      .returning({ id: files.id }),
    services.db.run(sql`insert into ${pendingObjectDeletions}
        (id, policy_id, storage_key, location, attempts, next_attempt_at, created_at)
        select ${`mo_${randomId()}`}, ${file.policyId}, ${file.storageKey}, ${file.location}, 0,
          ${now + OLD_OBJECT_GRACE_MS}, ${now}
        from ${files} where ${switched}`),
    services.db
      .update(moveItems)
      .set({ state: "done", claim: null, pullId: null, path: copy.path, finishedAt: new Date(now) })
      .where(
        and(
          eq(moveItems.jobId, copy.jobId),
          eq(moveItems.fileId, file.id),
          eq(moveItems.claim, copy.claim),
          sql`exists (select 1 from ${files} where ${switched})`,
        ),
      ),
    services.db
      .update(moveJobs)
      .set({
        bytesRelayed: sql`${moveJobs.bytesRelayed} + ${copy.path === "relay" ? file.size : 0}`,
        updatedAt: new Date(now),
      })
      .where(and(eq(moveJobs.id, copy.jobId), sql`exists (select 1 from ${files} where ${switched})`)),
  ]);
  return moved.length > 0;
}

/**
 * Queues an unswitched copy for deletion: at once (and tried now) when nothing can still write it,
 * else after `delayMs`, when a copy abandoned mid-way may still be landing.
 */
export async function discardCopy(
  services: Services,
  targetPolicyId: string,
  destKey: string,
  destLocation: string | null,
  delayMs = 0,
): Promise<void> {
  const now = services.now().getTime();
  const id = `md_${randomId()}`;
  await services.db.insert(pendingObjectDeletions).values({
    id,
    policyId: targetPolicyId,
    storageKey: destKey,
    location: destLocation,
    nextAttemptAt: new Date(now + delayMs),
    createdAt: new Date(now),
  });
  if (delayMs === 0) await deletePendingObjects(services, [id]);
}
