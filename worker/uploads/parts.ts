// Owns relay parts: one PUT streams its body through the primary to the storage (never buffered),
// with the exact part size and an optional SHA-256 the storage checks before keeping anything. A row
// in upload_parts is the claim on a part, so parallel retries of one part upload it once; a part sent
// again with the digest it was stored with succeeds without touching the storage.
import { and, eq, type SQL, sql } from "drizzle-orm";
import type { BatchResponse } from "drizzle-orm/batch";
import { fromBase64Url, randomToken, toHex } from "../../shared/crypto.ts";
import { AppError } from "../../shared/errors.ts";
import type { AuthUser } from "../accounts/auth.ts";
import type { PartOut } from "../api/uploads.ts";
import { uploadParts } from "../db/schema.ts";
import type { Services } from "../services.ts";
import { closedMeanwhile } from "./abort.ts";
import { assertPartNumber, partSize } from "./plan.ts";
import { assertOpen, type SessionRow, sessionOf, sessionStatement } from "./sessions.ts";
import { sessionStorageFrom, sessionStorageStatements } from "./storage.ts";

/**
 * A claim not renewed for this long is taken to belong to a request that died (its isolate or process
 * killed mid-stream, the database down when it tried to give the claim back): a retry takes it over.
 * The request holding a claim renews it every CLAIM_RENEW_MS while its part streams, however long.
 */
export const CLAIM_LEASE_MS = 20 * 1000;
export const CLAIM_RENEW_MS = 5 * 1000;

/** `X-Flotilla-Sha256: <hex>` or RFC 9530 `Content-Digest: sha-256=:<base64>:`; undefined when absent. */
export function partDigest(headers: Headers): string | undefined {
  const hex = headers.get("x-flotilla-sha256");
  if (hex !== null) {
    if (!/^[0-9a-fA-F]{64}$/.test(hex.trim())) throw badDigest();
    return hex.trim().toLowerCase();
  }
  const field = headers.get("content-digest");
  if (field === null) return undefined;
  const match = /(?:^|,)\s*sha-256=:([A-Za-z0-9+/]+={0,2}):/.exec(field);
  if (!match) return undefined;
  const bytes = fromBase64Url(match[1]!.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, ""));
  if (bytes.length !== 32) throw badDigest();
  return toHex(bytes);
}

const badDigest = () =>
  new AppError(
    "bad_request",
    "The part digest must be 64 hex digits (X-Flotilla-Sha256) or sha-256 in Content-Digest.",
  );

/**
 * What a part reads first: the session (the caller's, `userId` possibly SQL read with the session in
 * authentication's round trip), this part's row and the storage the session writes to.
 */
export function partReads(services: Services, userId: string | SQL, sessionId: string, partNumber: number) {
  const storage = sessionStorageStatements(services, sessionId);
  return [
    sessionStatement(services, { id: userId }, sessionId),
    services.db
      .select()
      .from(uploadParts)
      .where(and(eq(uploadParts.sessionId, sessionId), eq(uploadParts.partNumber, partNumber))),
    storage.policy,
    storage.node,
  ] as const;
}

/** `reads`: the rows of partReads for this caller, session and part, when read with the session. */
export async function putRelayPart(
  services: Services,
  user: AuthUser,
  sessionId: string,
  partNumber: number,
  request: Request,
  reads?: unknown[],
): Promise<PartOut> {
  const [sessions, partRows, policy, node] = reads
    ? (reads as unknown as BatchResponse<ReturnType<typeof partReads>>)
    : await services.db.batch(partReads(services, user.id, sessionId, partNumber));
  const session = sessionOf(sessions);
  assertOpen(session, services.now());
  if (session.mode !== "relay_stream") {
    throw new AppError(
      "upload_mode_mismatch",
      "This upload is presigned: PUT the parts to the storage URLs.",
    );
  }
  assertPartNumber(session, partNumber);
  const size = partSize(session, session.size, partNumber);
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) !== size) {
    await request.body?.cancel();
    throw new AppError("upload_part_size_mismatch", `Part ${partNumber} must be exactly ${size} bytes.`, {
      details: { part_number: partNumber, expected: size, received: Number(declared) },
    });
  }
  const digest =
    partDigest(request.headers) ??
    (session.partCount === 1 ? (session.declaredSha256 ?? undefined) : undefined);

  const [existing] = partRows;
  if (existing?.state === "done" && digest !== undefined && existing.sha256 === digest) {
    await request.body?.cancel();
    return { part_number: partNumber, size: existing.size ?? size, sha256: digest };
  }

  const body = request.body ?? new ReadableStream<Uint8Array>({ start: (c) => c.close() });
  const stored = storeRelayPart(
    services,
    session,
    partNumber,
    async () => {
      const { driver } = await sessionStorageFrom(services, session, { policy, node });
      return session.multipartId
        ? driver.putPart(session.storageKey, session.multipartId, partNumber, body, {
            size,
            ...(digest ? { sha256: digest } : {}),
          })
        : driver.put(session.storageKey, body, {
            size,
            contentType: session.contentType,
            ...(digest ? { sha256: digest } : {}),
          });
    },
    () => body.cancel().catch(() => {}),
  );
  // On Workers a request whose client goes away is cancelled, and what its handler still awaits with
  // it: the part's claim would then stay taken until its lease ends. Under waitUntil the store runs
  // to its end (the body fails), so the claim is released or the part recorded.
  services.waitUntil(stored.catch(() => {}));
  return stored;
}

/**
 * Stores part `partNumber` of a relay session under its claim: `write` puts the bytes on the storage,
 * and only the request holding the claim records them. A failed write releases the claim (and runs
 * `onFailure`, e.g. to cancel the body), so the part can be sent again.
 */
export async function storeRelayPart(
  services: Services,
  session: SessionRow,
  partNumber: number,
  write: () => Promise<{ size: number; sha256: string; etag: string }>,
  onFailure: () => Promise<void> = async () => {},
): Promise<PartOut> {
  const claim = await claimPart(services, session, partNumber);
  const renewal = setInterval(() => {
    renewClaim(services, session.id, partNumber, claim).catch(() => {});
  }, CLAIM_RENEW_MS);
  let stored: { size: number; sha256: string; etag: string };
  try {
    stored = await write();
  } catch (error) {
    clearInterval(renewal);
    await releaseClaim(services, session.id, partNumber, claim);
    await onFailure();
    throw error;
  }
  clearInterval(renewal);
  const [kept] = await services.db
    .update(uploadParts)
    .set({
      state: "done",
      claim: null,
      claimedAt: null,
      size: stored.size,
      sha256: stored.sha256,
      etag: stored.etag,
      updatedAt: services.now(),
    })
    .where(
      and(
        eq(uploadParts.sessionId, session.id),
        eq(uploadParts.partNumber, partNumber),
        eq(uploadParts.claim, claim),
      ),
    )
    .returning({ partNumber: uploadParts.partNumber });
  // The claim is gone: the session was aborted or expired (its cleanup dropped the claims) while this
  // part streamed, maybe before these bytes landed. (A claim taken over by a retry of an open
  // session, after its lease, leaves that retry in charge.)
  if (!kept) {
    await closedMeanwhile(services, session);
    throw new AppError("upload_part_busy", `Part ${partNumber} was taken over by another request.`, {
      headers: { "retry-after": "5" },
      details: { part_number: partNumber },
    });
  }
  return { part_number: partNumber, size: stored.size, sha256: stored.sha256 };
}

/**
 * Takes the part for this request: a new row, a part already done (it is being replaced), or a claim
 * whose lease ran out. Only while the session is open; another live claim is upload_part_busy.
 */
async function claimPart(services: Services, session: SessionRow, partNumber: number): Promise<string> {
  const claim = randomToken("pc", 12);
  const now = services.now().getTime();
  const stale = now - CLAIM_LEASE_MS;
  const rows = await services.db.all<{ claim: string }>(sql`
    INSERT INTO upload_parts (session_id, part_number, state, claim, claimed_at, updated_at)
    SELECT ${session.id}, ${partNumber}, 'uploading', ${claim}, ${now}, ${now}
    WHERE EXISTS (SELECT 1 FROM upload_sessions WHERE id = ${session.id} AND state = 'open')
    ON CONFLICT (session_id, part_number) DO UPDATE
      SET state = 'uploading', claim = excluded.claim, claimed_at = excluded.claimed_at,
          updated_at = excluded.updated_at
      WHERE upload_parts.state = 'done' OR upload_parts.claimed_at < ${stale}
    RETURNING claim`);
  if (rows[0]?.claim === claim) return claim;
  const [current] = await services.db
    .select({ state: uploadParts.state })
    .from(uploadParts)
    .where(and(eq(uploadParts.sessionId, session.id), eq(uploadParts.partNumber, partNumber)));
  if (current?.state === "uploading") {
    throw new AppError(
      "upload_part_busy",
      `Part ${partNumber} is being uploaded by another request; retry shortly.`,
      {
        headers: { "retry-after": "5" },
        details: { part_number: partNumber },
      },
    );
  }
  throw new AppError("upload_closed", "This upload is no longer open.");
}

/** Keeps this request's claim on a part alive while its bytes stream (a no-op once it lost it). */
async function renewClaim(services: Services, sessionId: string, partNumber: number, claim: string) {
  await services.db
    .update(uploadParts)
    .set({ claimedAt: services.now() })
    .where(
      and(
        eq(uploadParts.sessionId, sessionId),
        eq(uploadParts.partNumber, partNumber),
        eq(uploadParts.claim, claim),
      ),
    );
}

/** A failed attempt gives the part back: an earlier stored copy stays valid (storages keep it on failure). */
async function releaseClaim(services: Services, sessionId: string, partNumber: number, claim: string) {
  const mine = and(
    eq(uploadParts.sessionId, sessionId),
    eq(uploadParts.partNumber, partNumber),
    eq(uploadParts.claim, claim),
  );
  await services.db.batch([
    services.db
      .update(uploadParts)
      .set({ state: "done", claim: null, claimedAt: null })
      .where(and(mine, sql`${uploadParts.sha256} IS NOT NULL`)),
    services.db.delete(uploadParts).where(and(mine, sql`${uploadParts.sha256} IS NULL`)),
  ]);
}
