// Owns completing an upload: every part present, the storage composes, size and SHA-256 are verified
// before a file record exists (through files' createFileRecord), and a retry answers the same file.
// A retryable storage failure leaves the session open; anything else marks it failed with the reason.
import { and, eq, sql } from "drizzle-orm";
import { AppError } from "../../shared/errors.ts";
import type { AuthUser } from "../accounts/auth.ts";
import { missingParts } from "../api/uploads.ts";
import { isUniqueViolation } from "../db/constraints.ts";
import { files, uploadParts, uploadSessions } from "../db/schema.ts";
import type { Services } from "../services.ts";
import { cleanupNow, closedMeanwhile } from "./abort.ts";
import { CLAIM_LEASE_MS } from "./parts.ts";
import { callersSessions, type SessionRow, sessionOf, sessionStatement } from "./sessions.ts";
import { createFileRecord, type FileRow, insertFileIf, type NewFile } from "./space.ts";
import {
  hashStored,
  type ReceivedPart,
  receivedParts,
  type SessionStorage,
  sessionStorageFrom,
  sessionStorageStatements,
} from "./storage.ts";

/** A completion that crashed mid-way may be taken over after this long. */
export const COMPLETING_LEASE_MS = 15 * 60 * 1000;

/** Refusals that no retry can fix: the session fails and says why. Everything else keeps it open. */
const FINAL_CODES = new Set([
  "content_length_mismatch",
  "content_digest_mismatch",
  "multipart_invalid",
  "storage_rejected",
  "object_too_large",
]);

/**
 * S3 refusals of the store's configuration (credentials, bucket), not of this upload: an admin fixes
 * them and the completion is retried, so they do not fail the session (and delete its parts).
 */
const CONFIG_REFUSALS = new Set([
  "AccessDenied",
  "AccountProblem",
  "AllAccessDisabled",
  "ExpiredToken",
  "InvalidAccessKeyId",
  "InvalidToken",
  "NoSuchBucket",
  "SignatureDoesNotMatch",
]);

function isFinal(error: unknown): error is AppError {
  if (!(error instanceof AppError) || !FINAL_CODES.has(error.code)) return false;
  const s3Code = (error.details as { s3_code?: unknown } | undefined)?.s3_code;
  return !(error.code === "storage_rejected" && typeof s3Code === "string" && CONFIG_REFUSALS.has(s3Code));
}

export interface ClientPart {
  part_number: number;
  etag: string;
}

/** What the storage composed and verified: the object's size, SHA-256 and where it landed. */
export interface ComposedObject {
  size: number;
  sha256: string;
  location: string | null;
}

/**
 * Records a completed upload's object as a file. The default creates a new file (renamed on a name
 * clash); WebDAV writes instead replace the content of the file at their path.
 */
export type RecordFile = (session: SessionRow, composed: ComposedObject) => Promise<FileRow>;

export async function completeUpload(
  services: Services,
  user: AuthUser,
  id: string,
  clientParts: ClientPart[] | undefined,
  record?: RecordFile,
): Promise<{ session: SessionRow; file: FileRow }> {
  const claim = await claimCompletion(services, user, id);
  if ("file" in claim) return claim;
  let session = claim.session;
  let composed: ComposedObject;
  try {
    const storage = await sessionStorageFrom(services, session, claim.rows);
    const parts =
      session.mode === "relay_stream"
        ? claim.rows.parts.map(receivedPart)
        : await partsForCompletion(services, session, storage, clientParts);
    const missing = missingParts(
      session.partCount,
      parts.map((p) => p.partNumber),
    );
    if (missing.length > 0) {
      throw new AppError("upload_parts_missing", `${missing.length} part(s) have not arrived yet.`, {
        details: { missing: missing.slice(0, 1000), part_count: session.partCount },
      });
    }
    composed = await compose(session, storage, parts);
    if (composed.size !== session.size) {
      throw new AppError(
        "content_length_mismatch",
        `The stored file has ${composed.size} bytes, not ${session.size}.`,
      );
    }
    if (session.declaredSha256 && composed.sha256 !== session.declaredSha256) {
      throw new AppError("content_digest_mismatch", "The file does not match its declared SHA-256.", {
        details: { declared: session.declaredSha256, stored: composed.sha256 },
      });
    }
  } catch (error) {
    await settleFailure(services, session, error);
    throw error;
  }
  if (!record) {
    const recorded = await recordInOneRoundTrip(services, session, composed);
    if (recorded) return recorded;
  } else {
    const taken = await holdCompletion(services, session);
    if (taken) return taken;
  }
  const file = await createFile(services, session, composed, record);
  session = await markCompleted(services, session, file);
  return { session, file };
}

const receivedPart = (p: typeof uploadParts.$inferSelect): ReceivedPart => ({
  partNumber: p.partNumber,
  size: p.size ?? 0,
  sha256: p.sha256,
  etag: p.etag,
});

/** completed, with the file; the relay claims go in the same round trip. */
async function markCompleted(services: Services, session: SessionRow, file: FileRow): Promise<SessionRow> {
  const [[done]] = await services.db.batch([
    services.db
      .update(uploadSessions)
      .set({ state: "completed", fileId: file.id, updatedAt: services.now() })
      .where(eq(uploadSessions.id, session.id))
      .returning(),
    services.db.delete(uploadParts).where(eq(uploadParts.sessionId, session.id)),
  ]);
  return done!;
}

/**
 * The usual end in one round trip: the completing claim renewed, the new file inserted under the
 * session's name (in its folder while that is live), the session completed and its part claims
 * dropped, each statement guarded on the one before. Null when the file could not be written that
 * way (the name is taken, the folder went away, a file of that id exists) while the claim is held:
 * the caller then takes the step by step path, which renames or falls back to the root as
 * createFileRecord does.
 */
async function recordInOneRoundTrip(
  services: Services,
  session: SessionRow,
  composed: ComposedObject,
): Promise<{ session: SessionRow; file: FileRow } | null> {
  const now = services.now();
  const fileId = session.fileId!;
  const state = (value: SessionRow["state"]) =>
    sql`exists (select 1 from ${uploadSessions} where ${uploadSessions.id} = ${session.id} and ${uploadSessions.state} = ${value})`;
  let outcome: [{ id: string }[], FileRow[], SessionRow[], unknown];
  try {
    outcome = await services.db.batch([
      services.db
        .update(uploadSessions)
        .set({ updatedAt: now })
        .where(and(eq(uploadSessions.id, session.id), eq(uploadSessions.state, "completing")))
        .returning({ id: uploadSessions.id }),
      insertFileIf(services, fileInput(session, composed), state("completing")),
      services.db
        .update(uploadSessions)
        .set({ state: "completed", fileId, updatedAt: now })
        .where(
          and(
            eq(uploadSessions.id, session.id),
            eq(uploadSessions.state, "completing"),
            sql`exists (select 1 from ${files} where ${files.id} = ${fileId})`,
          ),
        )
        .returning(),
      services.db.delete(uploadParts).where(and(eq(uploadParts.sessionId, session.id), state("completed"))),
    ]);
  } catch (error) {
    // Taken by a live sibling (the whole batch rolled back, the claim's renewal too): the step by
    // step path renews it and picks a free name.
    if (isUniqueViolation(error)) return holdCompletion(services, session);
    await settleFailure(services, session, error);
    throw error;
  }
  const [held, [file], [done]] = outcome;
  if (held.length === 0) return lostCompletion(services, session);
  return file && done ? { session: done, file } : null;
}

async function partsForCompletion(
  services: Services,
  session: SessionRow,
  storage: SessionStorage,
  clientParts: ClientPart[] | undefined,
): Promise<ReceivedPart[]> {
  // Presigned parts on a storage that lists none (S3) are known only to the browser, which read their
  // ETags from the PUT answers.
  if (session.mode === "presigned" && session.multipartId && !storage.driver.listParts) {
    if (!clientParts || clientParts.length === 0) {
      throw new AppError("upload_etag_required", "List every part with the ETag its PUT answered.");
    }
    return clientParts
      .filter((p) => p.part_number >= 1 && p.part_number <= session.partCount)
      .map((p) => ({ partNumber: p.part_number, size: 0, sha256: null, etag: p.etag }));
  }
  return receivedParts(services, session, storage);
}

/**
 * The caller's session, claimed open -> completing (or a stale completing claim taken over) only while
 * it has not expired and no part is in flight, read in one round trip with what completing needs:
 * the session's policy and node, its relay parts (listed after the claim, so none can be replaced
 * between the listing and the compose) and, for a session already completed, its file. Answers the
 * completed session as it is (a retry gets the same file) and refuses every other state.
 */
async function claimCompletion(
  services: Services,
  user: AuthUser,
  id: string,
): Promise<
  | { session: SessionRow; file: FileRow }
  | {
      session: SessionRow;
      rows: Parameters<typeof sessionStorageFrom>[2] & { parts: (typeof uploadParts.$inferSelect)[] };
    }
> {
  const now = services.now().getTime();
  const storage = sessionStorageStatements(services, id);
  const [claimed, sessions, policy, node, parts, fileRows] = await services.db.batch([
    services.db
      .update(uploadSessions)
      .set({ state: "completing", updatedAt: new Date(now) })
      .where(
        and(
          eq(uploadSessions.id, id),
          callersSessions(services, user),
          sql`(${uploadSessions.state} = 'open' OR (${uploadSessions.state} = 'completing' AND ${uploadSessions.updatedAt} < ${now - COMPLETING_LEASE_MS}))`,
          sql`${uploadSessions.expiresAt} > ${now}`,
          sql`NOT EXISTS (SELECT 1 FROM upload_parts WHERE session_id = ${id} AND state = 'uploading' AND claimed_at >= ${now - CLAIM_LEASE_MS})`,
        ),
      )
      .returning(),
    sessionStatement(services, user, id),
    storage.policy,
    storage.node,
    services.db
      .select()
      .from(uploadParts)
      .where(and(eq(uploadParts.sessionId, id), eq(uploadParts.state, "done"))),
    services.db
      .select()
      .from(files)
      .where(
        eq(
          files.id,
          sql`(select ${uploadSessions.fileId} from ${uploadSessions} where ${uploadSessions.id} = ${id})`,
        ),
      ),
  ]);
  const current = sessionOf(sessions);
  if (claimed[0]) return { session: claimed[0], rows: { policy, node, parts } };
  if (current.state === "completed") {
    const [file] = fileRows;
    if (!file) throw new AppError("not_found", "The file of this upload no longer exists.");
    return { session: current, file };
  }
  if (current.state === "failed" || current.state === "aborted") {
    throw new AppError("upload_closed", `This upload is ${current.state}.`, {
      details: { state: current.state, failure_code: current.failureCode },
    });
  }
  if (current.expiresAt.getTime() <= now) {
    throw new AppError("upload_expired", "This upload session has expired; start a new one.");
  }
  if (current.state === "open") {
    throw new AppError("upload_part_busy", "A part is still being uploaded; complete when it has finished.", {
      headers: { "retry-after": "5" },
    });
  }
  throw new AppError(
    "upload_completing",
    "This upload is being completed by another request; retry shortly.",
    {
      headers: { "retry-after": "5" },
    },
  );
}

/**
 * Renews the completing claim before the file record is written. A completion that outlived its lease
 * may have been expired meanwhile (its storage cleaned, maybe before the composition landed: that
 * cleanup is owed again, closedMeanwhile) or finished by a request that took over (its file answers).
 */
async function holdCompletion(
  services: Services,
  session: SessionRow,
): Promise<{ session: SessionRow; file: FileRow } | null> {
  const [held] = await services.db
    .update(uploadSessions)
    .set({ updatedAt: services.now() })
    .where(and(eq(uploadSessions.id, session.id), eq(uploadSessions.state, "completing")))
    .returning({ id: uploadSessions.id });
  if (held) return null;
  return lostCompletion(services, session);
}

/** After the completing claim was found gone: the owed cleanup, or the file of the request that took over. */
async function lostCompletion(
  services: Services,
  session: SessionRow,
): Promise<{ session: SessionRow; file: FileRow }> {
  await closedMeanwhile(services, session);
  const [current] = await services.db.select().from(uploadSessions).where(eq(uploadSessions.id, session.id));
  if (current?.state === "completed") return { session: current, file: await fileOf(services, current) };
  throw new AppError("upload_completing", "This upload was taken over by another request; retry shortly.", {
    headers: { "retry-after": "5" },
  });
}

async function compose(
  session: SessionRow,
  storage: SessionStorage,
  parts: ReceivedPart[],
): Promise<{ size: number; sha256: string; location: string | null }> {
  const { driver } = storage;
  const sorted = [...parts].sort((a, b) => a.partNumber - b.partNumber);
  if (!session.multipartId) {
    // One request: the bytes are already at their final key (relay put, or presigned in place).
    const part = sorted[0]!;
    if (part.sha256) return { size: part.size, sha256: part.sha256, location: session.location };
    return { ...(await hashStored(driver, session.storageKey)), location: session.location };
  }
  const completed = sorted.map((p) => ({
    partNumber: p.partNumber,
    etag: p.etag ?? "",
    ...(p.sha256 ? { sha256: p.sha256 } : {}),
  }));
  if (driver.completeMultipartVerified) {
    try {
      const info = await driver.completeMultipartVerified(
        session.storageKey,
        session.multipartId,
        completed,
        {
          size: session.size,
          ...(session.declaredSha256 ? { sha256: session.declaredSha256 } : {}),
        },
      );
      return { size: info.size, sha256: info.sha256, location: info.location };
    } catch (error) {
      // An earlier attempt composed it but its answer was lost: the object is there, the upload gone.
      if (!(error instanceof AppError && error.code === "multipart_not_found")) throw error;
      const head = await driver.head(session.storageKey);
      if (!head?.sha256) throw error;
      return { size: head.size, sha256: head.sha256, location: session.location };
    }
  }
  const result = await driver
    .completeMultipart(session.storageKey, session.multipartId, completed)
    .catch(async (error: unknown) => {
      // An earlier attempt composed it and then could not record the file (the store forgot the
      // upload, S3 answers NoSuchUpload): the object at the session's own key is that composition.
      // Nothing else writes that key while a multipart upload is open.
      const head = await driver.head(session.storageKey).catch(() => null);
      if (!head || head.size !== session.size) throw error;
      return { size: head.size, etag: head.etag, sha256: null, location: session.location };
    });
  if (result.sha256) return { size: result.size, sha256: result.sha256, location: result.location };
  // S3 and R2 compose without a whole-object digest: read it back once, in constant memory.
  return { ...(await hashStored(driver, session.storageKey)), location: result.location };
}

async function settleFailure(services: Services, session: SessionRow, error: unknown): Promise<void> {
  if (!isFinal(error)) {
    await services.db
      .update(uploadSessions)
      .set({ state: "open", updatedAt: services.now() })
      .where(and(eq(uploadSessions.id, session.id), eq(uploadSessions.state, "completing")));
    return;
  }
  await services.db
    .update(uploadSessions)
    .set({
      state: "failed",
      failureCode: error.code,
      failureMessage: error.message,
      cleanupPending: true,
      updatedAt: services.now(),
    })
    .where(eq(uploadSessions.id, session.id));
  await cleanupNow(services, session);
}

async function createFile(
  services: Services,
  session: SessionRow,
  composed: ComposedObject,
  record?: RecordFile,
): Promise<FileRow> {
  try {
    return await (record ?? newFileRecord(services))(session, composed);
  } catch (error) {
    await settleFailure(services, session, error);
    throw error;
  }
}

/** A completed session's content as a file row holds it: what the storage composed, where, its type. */
export function composedContent(session: SessionRow, composed: ComposedObject) {
  return {
    size: composed.size,
    sha256: composed.sha256,
    contentType: session.contentType,
    policyId: session.policyId,
    storageKey: session.storageKey,
    location: composed.location,
  };
}

/** The new file of a completed session: its id, place and name, and its content. */
function fileInput(session: SessionRow, composed: ComposedObject): NewFile & { id: string } {
  return {
    id: session.fileId!,
    space: { kind: session.spaceKind, id: session.spaceId },
    folderId: session.folderId,
    name: session.name,
    ...composedContent(session, composed),
    createdBy: session.userId,
  };
}

const newFileRecord =
  (services: Services): RecordFile =>
  async (session, composed) => {
    const input = fileInput(session, composed);
    return createFileRecord(services, input).catch((error: unknown) => {
      // The folder went away during the upload: the bytes are good, so the file lands in the space root.
      if (error instanceof AppError && error.code === "not_found" && session.folderId) {
        return createFileRecord(services, { ...input, folderId: null });
      }
      throw error;
    });
  };

async function fileOf(services: Services, session: SessionRow): Promise<FileRow> {
  const [file] = await services.db
    .select()
    .from(files)
    .where(eq(files.id, session.fileId ?? ""));
  if (!file) throw new AppError("not_found", "The file of this upload no longer exists.");
  return file;
}
