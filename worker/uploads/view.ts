// Owns what an upload session's owner sees of it (what a client needs to resume: which parts arrived,
// asked from the storage while it is open) and the caller's list of unfinished sessions.
import { and, desc, eq, gt, inArray } from "drizzle-orm";
import type { AuthUser } from "../accounts/auth.ts";
import { toUploadOut, type UploadOut } from "../api/uploads.ts";
import { uploadSessions } from "../db/schema.ts";
import { describeError } from "../logger.ts";
import type { Services } from "../services.ts";
import { callersSessions, type SessionRow } from "./sessions.ts";
import { receivedParts } from "./storage.ts";

const OPEN_STATES = ["open", "completing"] as const;

/** The session as its owner sees it; open presigned sessions ask the storage which parts it holds. */
export async function viewUpload(services: Services, session: SessionRow): Promise<UploadOut> {
  if (session.state !== "open" && session.state !== "completing") return toUploadOut(session, []);
  const parts = await receivedParts(services, session);
  return toUploadOut(
    session,
    parts.map((p) => p.partNumber),
  );
}

/** The caller's unfinished sessions, newest first (optionally one client's); storage trouble lists none received. */
export async function listOpenUploads(
  services: Services,
  user: AuthUser,
  clientId: string | undefined,
): Promise<UploadOut[]> {
  const rows = await services.db
    .select()
    .from(uploadSessions)
    .where(
      and(
        callersSessions(services, user),
        inArray(uploadSessions.state, [...OPEN_STATES]),
        gt(uploadSessions.expiresAt, services.now()),
        clientId === undefined ? undefined : eq(uploadSessions.clientId, clientId),
      ),
    )
    .orderBy(desc(uploadSessions.createdAt))
    .limit(100);
  return Promise.all(
    rows.map((row) =>
      viewUpload(services, row).catch((error: unknown) => {
        services.log.warn("upload parts unavailable", { upload_id: row.id, error: describeError(error) });
        return toUploadOut(row, []);
      }),
    ),
  );
}
