// Owns giving an upload up: abort by its owner, and the storage cleanup that abort, a failed
// completion and expiry all owe (abort the multipart upload with its parts on the follower or S3, and
// delete the object at the session's key). Cleanup never touches a completed upload; what fails now
// stays owed (cleanup_pending) and the scheduled task retries it.
import { and, eq, sql } from "drizzle-orm";
import { AppError } from "../../shared/errors.ts";
import type { AuthUser } from "../accounts/auth.ts";
import { uploadSessions } from "../db/schema.ts";
import { describeError } from "../logger.ts";
import type { Services } from "../services.ts";
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
  const { driver } = await sessionStorage(services, session);
  if (session.multipartId) {
    await driver.abortMultipart(session.storageKey, session.multipartId).catch((error: unknown) => {
      if (!(error instanceof AppError && error.code === "multipart_not_found")) throw error;
    });
  }
  // Also after a multipart upload: a composition refused afterwards (digest) left the object behind.
  await driver.delete(session.storageKey);
  await services.db
    .update(uploadSessions)
    .set({ cleanupPending: false, updatedAt: services.now() })
    .where(eq(uploadSessions.id, session.id));
  await dropPartRows(services, session.id);
}
