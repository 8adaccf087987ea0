// Owns deleting purged objects from the storage that wrote them. A purge first records each object in
// pending_object_deletions (in the same batch that drops the file record), then deletes it through
// driverForPolicy; a failure keeps the row with a growing back-off for the scheduled retry.
import { and, asc, eq, inArray, lte } from "drizzle-orm";
import { AppError } from "../../shared/errors.ts";
import { pendingObjectDeletions, storagePolicies } from "../db/schema.ts";
import { describeError } from "../logger.ts";
import type { Services } from "../services.ts";
import { driverForPolicy } from "../storage/factory.ts";

const MAX_BACKOFF_MS = 6 * 3600 * 1000;

/** Failures that say the storage itself cannot be reached, not that this one object was refused. */
const UNREACHABLE = new Set(["storage_unavailable", "follower_unreachable", "follower_timeout"]);

export function retryDelayMs(attempts: number): number {
  return Math.min(MAX_BACKOFF_MS, 60_000 * 2 ** Math.max(0, attempts - 1));
}

/** Tries to delete the queued objects `ids` (or, without ids, up to `limit` due ones). */
export async function deletePendingObjects(
  services: Services,
  ids?: string[],
  limit = 100,
): Promise<{ deleted: number; failed: number }> {
  if (ids && ids.length === 0) return { deleted: 0, failed: 0 };
  const rows = await services.db
    .select({ pending: pendingObjectDeletions, policy: storagePolicies })
    .from(pendingObjectDeletions)
    .innerJoin(storagePolicies, eq(storagePolicies.id, pendingObjectDeletions.policyId))
    .where(
      ids
        ? inArray(pendingObjectDeletions.id, ids.slice(0, limit))
        : lte(pendingObjectDeletions.nextAttemptAt, services.now()),
    )
    .orderBy(asc(pendingObjectDeletions.nextAttemptAt))
    .limit(limit);
  let deleted = 0;
  let failed = 0;
  // A storage found unreachable is not asked again in this pass: its other objects wait with the same
  // back-off instead of each waiting out a timeout (an emptied trash on a follower that hangs).
  const down = new Map<string, unknown>();
  for (const { pending, policy } of rows) {
    const where = `${policy.id}\u0000${pending.location ?? ""}`;
    try {
      if (down.has(where)) throw down.get(where);
      const driver = await driverForPolicy(services, policy, { location: pending.location });
      await driver.delete(pending.storageKey);
      await services.db.delete(pendingObjectDeletions).where(eq(pendingObjectDeletions.id, pending.id));
      deleted++;
    } catch (error) {
      failed++;
      const attempts = pending.attempts + 1;
      const reason = error instanceof AppError ? error.code : "internal";
      if (!down.has(where)) {
        if (error instanceof AppError && UNREACHABLE.has(error.code)) down.set(where, error);
        services.log.warn("object deletion failed; will retry", {
          pending_id: pending.id,
          policy_id: policy.id,
          attempts,
          error: describeError(error),
        });
      }
      await services.db
        .update(pendingObjectDeletions)
        .set({
          attempts,
          lastError: reason,
          nextAttemptAt: new Date(services.now().getTime() + retryDelayMs(attempts)),
        })
        .where(and(eq(pendingObjectDeletions.id, pending.id)));
    }
  }
  return { deleted, failed };
}
