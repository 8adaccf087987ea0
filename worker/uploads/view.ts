// Owns the public shape of an upload session (what a client needs to resume: which parts arrived,
// which are missing, where to send them) and the caller's list of unfinished sessions.
import { and, desc, eq, gt, inArray } from "drizzle-orm";
import { z } from "zod";
import type { AuthUser } from "../accounts/auth.ts";
import { iso, timestamp } from "../api/wire.ts";
import { UPLOAD_STATES, uploadSessions } from "../db/schema.ts";
import { describeError } from "../logger.ts";
import type { Services } from "../services.ts";
import { missingParts } from "./plan.ts";
import { callersSessions, type SessionRow } from "./sessions.ts";
import { receivedParts } from "./storage.ts";

export const uploadSchema = z.object({
  id: z.string(),
  state: z.enum(UPLOAD_STATES),
  mode: z.enum(["relay_stream", "presigned"]),
  name: z.string(),
  size: z.number().int(),
  sha256: z.string().nullable(),
  content_type: z.string(),
  folder_id: z.string().nullable(),
  space: z.object({ kind: z.enum(["user", "team"]), id: z.string() }),
  client_id: z.string().nullable(),
  policy_id: z.string(),
  chunk_size: z.number().int(),
  part_count: z.number().int(),
  parts_received: z.array(z.number().int()),
  missing_parts: z.array(z.number().int()),
  /** Relay: where part n goes (replace `{n}`); null for presigned (ask /presign). */
  part_url_template: z.string().nullable(),
  file_id: z.string().nullable(),
  failure: z.object({ code: z.string(), message: z.string() }).nullable(),
  expires_at: timestamp,
  created_at: timestamp,
});
export type UploadOut = z.infer<typeof uploadSchema>;

const OPEN_STATES = ["open", "completing"] as const;

export function toUploadOut(session: SessionRow, received: number[]): UploadOut {
  const finished = session.state === "completed";
  const have = finished ? Array.from({ length: session.partCount }, (_, i) => i + 1) : received;
  return {
    id: session.id,
    state: session.state,
    mode: session.mode,
    name: session.name,
    size: session.size,
    sha256: session.declaredSha256,
    content_type: session.contentType,
    folder_id: session.folderId,
    space: { kind: session.spaceKind, id: session.spaceId },
    client_id: session.clientId,
    policy_id: session.policyId,
    chunk_size: session.chunkSize,
    part_count: session.partCount,
    parts_received: have,
    missing_parts: finished ? [] : missingParts(session.partCount, have),
    part_url_template: session.mode === "relay_stream" ? `/api/v1/uploads/${session.id}/parts/{n}` : null,
    file_id: finished ? session.fileId : null,
    failure:
      session.failureCode !== null
        ? { code: session.failureCode, message: session.failureMessage ?? "" }
        : null,
    expires_at: iso(session.expiresAt),
    created_at: iso(session.createdAt),
  };
}

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
