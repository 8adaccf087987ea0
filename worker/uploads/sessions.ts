// Owns upload session records: init (policy resolution, size limit, mode, part plan, the storage's
// multipart session), loading a session for its owner and checking it is still open. The policy
// resolved at init stays with the session and becomes the file's policy, whatever the groups say later.
import { and, eq, exists, inArray, max, or, type SQL } from "drizzle-orm";
import { randomId } from "../../shared/crypto.ts";
import { AppError } from "../../shared/errors.ts";
import type { AuthUser } from "../accounts/auth.ts";
import type { InitBody } from "../api/uploads.ts";
import { storedCapabilities } from "../db/probes.ts";
import { policyGroupRules, storagePolicies, teamMembers, uploadParts, uploadSessions } from "../db/schema.ts";
import {
  type Resolution,
  resolutionFrom,
  resolutionStatements,
  type SkippedRule,
} from "../policy-groups/resolve.ts";
import type { Services } from "../services.ts";
import { driverForPolicy, type PolicyRow } from "../storage/factory.ts";
import type { DriverLimits, StorageDriver } from "../storage/types.ts";
import { planUpload, type UploadMode } from "./plan.ts";
import {
  cleanName,
  fileStorageKey,
  liveFolderOf,
  liveFolderStatement,
  policySubject,
  type Space,
  type SpaceRef,
  spaceRefOf,
} from "./space.ts";

export type SessionRow = typeof uploadSessions.$inferSelect;

/** Unfinished sessions are kept this long after init (abort and cleanup follow on expiry). */
export const SESSION_TTL_MS = 24 * 3600 * 1000;

/** `reads`: the rows of initReads, read with the session, for the same space and body. */
export async function initUpload(
  services: Services,
  user: AuthUser,
  space: Space,
  body: InitBody,
  reads?: unknown[],
): Promise<SessionRow> {
  const folderId = body.folder_id ?? null;
  const resolution = reads ? await resolutionOf(services, space, folderId, body.size, reads) : undefined;
  return (await startUpload(services, user, space, body, resolution ? { resolution } : {})).session;
}

export interface StartOptions {
  /** Relay through the primary whatever the policy's upload mode (a WebDAV PUT brings its own body). */
  relay?: boolean;
  /**
   * A body of unknown size (relayed): the policy is the one for files of any size, parts are at most
   * `maxPart` bytes, and the size and part count are set by fixUnsizedPlan once the body has ended.
   */
  unsized?: { maxPart: number };
  /** One request of the whole object, no multipart (a copy made by the storage), when this says so. */
  whole?: (policy: PolicyRow, driver: StorageDriver) => boolean;
  /** The folder checked and the policy resolved already (read with the session). */
  resolution?: Resolution;
}

/** initUpload, also handing back the session's policy and its driver (pinned to the session's target). */
export async function startUpload(
  services: Services,
  user: AuthUser,
  space: Space,
  body: InitBody,
  options: StartOptions = {},
): Promise<{ session: SessionRow; policy: PolicyRow; driver: StorageDriver }> {
  const name = cleanName(body.name);
  const folderId = body.folder_id ?? null;
  const { policy, node, defaultTarget } =
    options.resolution ??
    (await resolveWithLimit(
      services,
      space,
      folderId,
      options.unsized ? Number.MAX_SAFE_INTEGER : body.size,
    ));
  // Remote uploads pin the follower's default ingress target now, so every later call names it.
  const location = defaultTarget;
  const driver = await driverForPolicy(services, policy, { location, node });
  const mode =
    options.relay || options.unsized ? "relay_stream" : effectiveMode(policy, node, driver, body.size);
  const plan = options.unsized
    ? unsizedPlan(policy.chunkSize, driver.limits, options.unsized.maxPart)
    : options.whole?.(policy, driver)
      ? { chunkSize: body.size, partCount: 1, multipart: false }
      : planUpload(body.size, policy.chunkSize, driver.limits, mode);
  const id = randomId();
  // The file's id is chosen now so the bytes land at their final key.
  const fileId = randomId();
  const storageKey = fileStorageKey(fileId);
  const contentType = body.content_type ?? "application/octet-stream";
  // Every presigned upload is a multipart upload on the storage, also of one part: the URLs handed
  // out (they live 15 minutes) address parts of an upload that ends when it completes, never the key
  // itself, so no spare or replayed URL can change the committed file.
  const multipartId =
    plan.multipart || mode === "presigned"
      ? (await driver.createMultipart(storageKey, { contentType, partSize: plan.chunkSize })).uploadId
      : null;
  const now = services.now();
  const insert = services.db
    .insert(uploadSessions)
    .values({
      id,
      userId: user.id,
      spaceKind: space.kind,
      spaceId: space.id,
      folderId,
      name,
      size: body.size,
      declaredSha256: body.sha256 ?? null,
      contentType,
      clientId: body.client_id ?? null,
      policyId: policy.id,
      mode,
      chunkSize: plan.chunkSize,
      partCount: plan.partCount,
      storageKey,
      multipartId,
      location,
      fileId,
      expiresAt: new Date(now.getTime() + SESSION_TTL_MS),
      createdAt: now,
      updatedAt: now,
    })
    .returning();
  try {
    const [row] = await insert;
    return { session: row!, policy, driver };
  } catch (error) {
    // Leave no multipart upload the primary does not know about.
    if (multipartId) await driver.abortMultipart(storageKey, multipartId).catch(() => {});
    throw error;
  }
}

/** Parts of the policy's chunk size, within [the driver's minimum, maxPart]; as many as the driver allows. */
function unsizedPlan(chunk: number, limits: DriverLimits, maxPart: number) {
  const chunkSize = Math.max(limits.minPartSize, Math.min(chunk > 0 ? chunk : maxPart, maxPart));
  return { chunkSize, partCount: limits.maxParts, multipart: true };
}

/** Sets the real size and part count of an unsized upload once its body has ended (it must be open). */
export async function fixUnsizedPlan(
  services: Services,
  session: SessionRow,
  size: number,
  partCount: number,
): Promise<SessionRow> {
  const [row] = await services.db
    .update(uploadSessions)
    .set({ size, partCount, updatedAt: services.now() })
    .where(and(eq(uploadSessions.id, session.id), eq(uploadSessions.state, "open")))
    .returning();
  if (!row) throw new AppError("upload_closed", "This upload was closed while its data was being stored.");
  return row;
}

/**
 * The target folder checked (missing, trashed or foreign: 404) and the policy resolved, in one round
 * trip; a file refused only for being over a policy's size limit is file_too_large.
 */
async function resolveWithLimit(
  services: Services,
  space: Space,
  folderId: string | null,
  size: number,
): Promise<Resolution> {
  const [first, ...rest] = resolutionReads(services, space, folderId);
  return resolutionOf(services, space, folderId, size, await services.db.batch([first, ...rest]));
}

/**
 * The statements resolveWithLimit sends: the target folder's (when there is one), then the
 * resolution's. The space's id may be SQL (the caller's, read in authentication's round trip).
 */
function resolutionReads(services: Services, space: SpaceRef, folderId: string | null) {
  const q = resolutionStatements(services.db, policySubject(space));
  const resolution = [q.subject, q.group, q.rules] as const;
  return folderId === null
    ? resolution
    : ([liveFolderStatement(services, space, folderId), ...resolution] as const);
}

/** The resolution from the rows of resolutionReads (same space and folder). */
async function resolutionOf(
  services: Services,
  space: Space,
  folderId: string | null,
  size: number,
  rows: unknown[],
): Promise<Resolution> {
  const subject = { ...policySubject(space), size };
  type Rows = Parameters<typeof resolutionFrom>[1];
  try {
    if (folderId === null) return resolutionFrom(subject, rows as Rows);
    const [folder, ...resolution] = rows;
    liveFolderOf(folder as Parameters<typeof liveFolderOf>[0]);
    return resolutionFrom(subject, resolution as Rows);
  } catch (error) {
    if (!(error instanceof AppError) || error.code !== "no_matching_policy") throw error;
    const skipped = (error.details as { skipped?: SkippedRule[] }).skipped ?? [];
    const overLimit = skipped.filter((s) => s.reason === "over_policy_size_limit").map((s) => s.rule_id);
    if (overLimit.length === 0) throw error;
    const [largest] = await services.db
      .select({ limit: max(storagePolicies.maxFileSize) })
      .from(policyGroupRules)
      .innerJoin(storagePolicies, eq(storagePolicies.id, policyGroupRules.policyId))
      .where(inArray(policyGroupRules.id, overLimit));
    const limit = largest?.limit ?? 0;
    throw new AppError(
      "file_too_large",
      `The file is larger than the storage policy allows (${limit} bytes).`,
      {
        details: { size, max_file_size: limit },
      },
    );
  }
}

/**
 * An init's reads, for authentication's round trip (the route's authReads): the space named in the
 * path (`me`: the caller's, by `userId` as SQL; a team: by its id, membership checked once the
 * session is) with the target folder and the policy resolution. initUpload reads their rows.
 */
export function initReads(services: Services, spaceParam: string, body: InitBody, userId: SQL) {
  return [...resolutionReads(services, spaceRefOf(spaceParam, userId), body.folder_id ?? null)];
}

/**
 * The policy's upload mode, except that presigned needs a driver that can presign and, for a
 * follower, a last good probe showing browser_presigned_cors; otherwise the upload relays
 * (documented fallback: the upload still works, through the primary). An empty file relays too:
 * there is nothing to carry, and a multipart upload of no bytes is not one every S3 store takes.
 */
function effectiveMode(
  policy: PolicyRow,
  node: Resolution["node"],
  driver: StorageDriver,
  size: number,
): UploadMode {
  if (policy.uploadMode !== "presigned" || !driver.presign || size === 0) return "relay_stream";
  if (policy.driver !== "remote") return "presigned";
  const caps = storedCapabilities(node?.lastGoodProbeJson ?? null);
  return caps?.features.browser_presigned_cors ? "presigned" : "relay_stream";
}

/** The caller's own session, or not_found (another user's session does not exist for them). */
/**
 * The caller's own upload sessions, and of team-space sessions only those of teams the caller still
 * belongs to: someone removed from a team cannot go on writing into its space with an upload begun
 * before (the session expires and is cleaned up like any other).
 */
export function callersSessions(services: Services, user: AuthUser | { id: string | SQL }) {
  return and(
    eq(uploadSessions.userId, user.id),
    or(
      eq(uploadSessions.spaceKind, "user"),
      exists(
        services.db
          .select({ one: teamMembers.userId })
          .from(teamMembers)
          .where(and(eq(teamMembers.teamId, uploadSessions.spaceId), eq(teamMembers.userId, user.id))),
      ),
    ),
  );
}

export async function loadSession(services: Services, user: AuthUser, id: string): Promise<SessionRow> {
  return sessionOf(await sessionStatement(services, user, id));
}

/**
 * The statement behind loadSession, for a caller that batches it; sessionOf reads its rows. The
 * caller's id may be SQL (read in authentication's round trip, accounts/auth.ts authenticateWith).
 */
export function sessionStatement(services: Services, user: AuthUser | { id: string | SQL }, id: string) {
  return services.db
    .select()
    .from(uploadSessions)
    .where(and(eq(uploadSessions.id, id), callersSessions(services, user)));
}

export function sessionOf(rows: SessionRow[]): SessionRow {
  const [row] = rows;
  if (!row) throw new AppError("not_found", "No such upload.");
  return row;
}

export async function loadPolicy(services: Services, session: SessionRow): Promise<PolicyRow> {
  const [policy] = await services.db
    .select()
    .from(storagePolicies)
    .where(eq(storagePolicies.id, session.policyId));
  if (!policy) throw new AppError("internal", "Internal error.", { cause: new Error("session policy gone") });
  return policy;
}

/** Throws unless parts may still be sent: open and not expired. */
export function assertOpen(session: SessionRow, now: Date): void {
  if (session.state !== "open") {
    throw new AppError("upload_closed", `This upload is ${session.state}.`, {
      details: { state: session.state, file_id: session.fileId },
    });
  }
  if (session.expiresAt.getTime() <= now.getTime()) {
    throw new AppError("upload_expired", "This upload session has expired; start a new one.");
  }
}

/** Relay parts recorded as received (state done) in the database. */
export async function receivedRelayParts(services: Services, sessionId: string) {
  return services.db
    .select()
    .from(uploadParts)
    .where(and(eq(uploadParts.sessionId, sessionId), eq(uploadParts.state, "done")));
}
