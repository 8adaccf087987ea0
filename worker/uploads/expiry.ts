// Owns the scheduled cleanup of uploads: unfinished sessions past their expiry are aborted, storage
// cleanup still owed (after abort, failure or expiry; follower parts included) is retried, and
// finished sessions are dropped once their expiry has passed (completion stays idempotent until then).
import { and, asc, eq, inArray, lt, or } from "drizzle-orm";
import { uploadSessions } from "../db/schema.ts";
import { describeError } from "../logger.ts";
import type { Services } from "../services.ts";
import { cleanupStorage } from "./abort.ts";
import { COMPLETING_LEASE_MS } from "./complete.ts";

const BATCH = 100;

export async function expireUploads(services: Services): Promise<void> {
  const now = services.now();
  await services.db
    .update(uploadSessions)
    .set({
      state: "aborted",
      cleanupPending: true,
      failureCode: "upload_expired",
      failureMessage: "The upload session expired.",
      updatedAt: now,
    })
    .where(
      and(
        lt(uploadSessions.expiresAt, now),
        // A completion still within its lease is left to finish (or to fail back to open).
        or(
          eq(uploadSessions.state, "open"),
          and(
            eq(uploadSessions.state, "completing"),
            lt(uploadSessions.updatedAt, new Date(now.getTime() - COMPLETING_LEASE_MS)),
          ),
        ),
      ),
    );
  const owed = await services.db
    .select()
    .from(uploadSessions)
    .where(eq(uploadSessions.cleanupPending, true))
    // Longest untried first; a failure goes to the back, so storages that stay unreachable (a
    // follower gone for good) cannot take the whole batch run after run.
    .orderBy(asc(uploadSessions.updatedAt))
    .limit(BATCH);
  let failed = 0;
  for (const session of owed) {
    try {
      await cleanupStorage(services, session);
    } catch (error) {
      failed += 1;
      await services.db
        .update(uploadSessions)
        .set({ updatedAt: now })
        .where(and(eq(uploadSessions.id, session.id), eq(uploadSessions.cleanupPending, true)));
      services.log.warn("upload cleanup failed; retried next run", {
        upload_id: session.id,
        error: describeError(error),
      });
    }
  }
  const removed = await services.db
    .delete(uploadSessions)
    .where(
      and(
        eq(uploadSessions.cleanupPending, false),
        lt(uploadSessions.expiresAt, now),
        inArray(uploadSessions.state, ["completed", "failed", "aborted"]),
      ),
    )
    .returning({ id: uploadSessions.id });
  if (owed.length > 0 || removed.length > 0) {
    services.log.info("uploads expired", { cleaned: owed.length - failed, failed, removed: removed.length });
  }
}
