// Owns giving an upload up: abort by its owner, and the storage cleanup that abort, a failed
// completion and expiry all owe (abort the multipart upload with its parts on the follower or S3, and
// delete the object at the session's key). Cleanup never touches a completed upload; what fails now
// stays owed (cleanup_pending) and the scheduled task retries it.
import { and, eq, inArray, or, sql } from "drizzle-orm";
import { randomId } from "../../shared/crypto.ts";
import { AppError } from "../../shared/errors.ts";
import type { AuthUser } from "../accounts/auth.ts";
import { files, pendingObjectDeletions, uploadSessions } from "../db/schema.ts";
import { deletePendingObjects } from "../files/purge.ts";
import { describeError } from "../logger.ts";
import type { Services } from "../services.ts";
import { PRESIGN_TTL_SECONDS } from "./presign.ts";
import { loadSession, type SessionRow } from "./sessions.ts";
import { dropPartRows, sessionStorage } from "./storage.ts";

export async function abortUpload(services: Services, user: AuthUser, id: string): Promise<void> {
  const session = await loadSession(services, user, id);
  if (session.state === "aborted") return;
  if (session.state === "completed" || session.state === "completing") {
    throw new AppError("upload_closed", `This upload is ${session.state}.`, {
      details: { state: session.state, file_id: session.state === "completed" ? session.fileId : null },
    });
  }
  const [row] = await services.db
    .update(uploadSessions)
    .set({ state: "aborted", cleanupPending: true, updatedAt: services.now() })
    .where(and(eq(uploadSessions.id, id), sql`${uploadSessions.state} IN ('open', 'failed')`))
    .returning();
  if (row) await cleanupNow(services, row);
}

/** Best effort now; whatever fails stays owed and the scheduled task retries it. */
export async function cleanupNow(services: Services, session: SessionRow): Promise<void> {
  try {
    await cleanupStorage(services, session);
  } catch (error) {
    services.log.warn("upload cleanup deferred", { upload_id: session.id, error: describeError(error) });
  }
}

/**
 * Removes what an unfinished upload left on its storage (never for a completed one): the multipart
 * upload with its parts, and the object at the session's key. Idempotent; clears cleanup_pending when done.
 */
export async function cleanupStorage(services: Services, session: SessionRow): Promise<void> {
  if (session.state === "completed") return;
  // A completion that wrote the file record (or switched a file to this content) and then failed to
  // close the session (database error): the object is that file's content, so the session is
  // completed, never cleaned.
  const [file] = await services.db
    .select({ id: files.id })
    .from(files)
    .where(
      or(
        eq(files.id, session.fileId ?? ""),
        and(eq(files.policyId, session.policyId), eq(files.storageKey, session.storageKey)),
      ),
    )
    .limit(1);
  if (file) {
    await services.db
      .update(uploadSessions)
      .set({
        state: "completed",
        cleanupPending: false,
        failureCode: null,
        failureMessage: null,
        updatedAt: services.now(),
      })
      .where(eq(uploadSessions.id, session.id));
    await dropPartRows(services, session.id);
    return;
  }
  const { driver } = await sessionStorage(services, session);
  if (session.multipartId) {
    await driver.abortMultipart(session.storageKey, session.multipartId).catch((error: unknown) => {
      if (!(error instanceof AppError && error.code === "multipart_not_found")) throw error;
    });
  }
  // Also after a multipart upload: a composition refused afterwards (digest) left the object behind.
  await driver.delete(session.storageKey);
  // A presigned PUT URL handed out before the session closed still writes the object until it
  // expires: the deletion stays owed (the scheduled task repeats it) until every such URL has.
  const urlsLive =
    session.mode === "presigned" &&
    !session.multipartId &&
    services.now().getTime() < session.updatedAt.getTime() + PRESIGN_TTL_SECONDS * 1000;
  if (urlsLive) return;
  await services.db
    .update(uploadSessions)
    .set({ cleanupPending: false, updatedAt: services.now() })
    .where(eq(uploadSessions.id, session.id));
  await dropPartRows(services, session.id);
}

/**
 * For a request that wrote to the session's storage and then found its hold on the session gone.
 * Aborted or expired meanwhile: the cleanup may have run before those bytes landed, so it is owed
 * again; once expiry removed the session, the object at its key is queued for deletion (and a
 * multipart upload aborted again, best effort); both throw upload_closed. A session still live
 * (another request took over after a lease ran out) is that request's business: returns.
 */
export async function closedMeanwhile(services: Services, session: SessionRow): Promise<void> {
  const [owed] = await services.db
    .update(uploadSessions)
    .set({ cleanupPending: true, updatedAt: services.now() })
    .where(and(eq(uploadSessions.id, session.id), inArray(uploadSessions.state, ["aborted", "failed"])))
    .returning();
  if (owed) {
    await cleanupNow(services, owed);
  } else {
    const [row] = await services.db
      .select({ state: uploadSessions.state })
      .from(uploadSessions)
      .where(eq(uploadSessions.id, session.id));
    if (row) return;
    if (session.multipartId) {
      const { driver } = await sessionStorage(services, session);
      await driver.abortMultipart(session.storageKey, session.multipartId).catch(() => {});
    }
    const id = randomId();
    await services.db.insert(pendingObjectDeletions).values({
      id,
      policyId: session.policyId,
      storageKey: session.storageKey,
      location: session.location,
      nextAttemptAt: services.now(),
    });
    await deletePendingObjects(services, [id]);
  }
  throw new AppError("upload_closed", "This upload was closed while its data was being stored.");
}
