// Owns how an upload session reaches its storage: the policy's driver pinned to the session's target,
// and which parts the storage holds.
import { eq, sql } from "drizzle-orm";
import { AppError } from "../../shared/errors.ts";
import { followerNodes, storagePolicies, uploadParts, uploadSessions } from "../db/schema.ts";
import type { Services } from "../services.ts";
import { driverForPolicy, type PolicyRow } from "../storage/factory.ts";
import { meter } from "../storage/streams.ts";
import type { StorageDriver } from "../storage/types.ts";
import { partSize } from "./plan.ts";
import { loadPolicy, receivedRelayParts, type SessionRow } from "./sessions.ts";

export interface SessionStorage {
  policy: PolicyRow;
  driver: StorageDriver;
}

export async function sessionStorage(services: Services, session: SessionRow): Promise<SessionStorage> {
  const policy = await loadPolicy(services, session);
  return { policy, driver: await driverForPolicy(services, policy, { location: session.location }) };
}

/**
 * The statements behind sessionStorage for a caller that batches them with its own: the policy of
 * session `sessionId` and that policy's follower node (none for other drivers), found through the
 * session's row. sessionStorageFrom builds the storage from their rows without another round trip.
 */
export function sessionStorageStatements(services: Services, sessionId: string) {
  const policyId = sql`(select ${uploadSessions.policyId} from ${uploadSessions} where ${uploadSessions.id} = ${sessionId})`;
  const nodeId = sql`(select ${storagePolicies.nodeId} from ${storagePolicies} where ${storagePolicies.id} = ${policyId})`;
  return {
    policy: services.db.select().from(storagePolicies).where(eq(storagePolicies.id, policyId)),
    node: services.db.select().from(followerNodes).where(eq(followerNodes.id, nodeId)),
  };
}

export async function sessionStorageFrom(
  services: Services,
  session: SessionRow,
  rows: { policy: PolicyRow[]; node: (typeof followerNodes.$inferSelect)[] },
): Promise<SessionStorage> {
  const [policy] = rows.policy;
  if (!policy) throw new AppError("internal", "Internal error.", { cause: new Error("session policy gone") });
  const node = rows.node[0] ?? null;
  return { policy, driver: await driverForPolicy(services, policy, { location: session.location, node }) };
}

export interface ReceivedPart {
  partNumber: number;
  size: number;
  sha256: string | null;
  etag: string | null;
}

/**
 * The parts that arrived. Relay sessions know from their claims; presigned ones ask the storage
 * (a single object is a HEAD; multipart parts are listed where the storage lists them). Presigned
 * parts on a storage that lists none (S3) are known only to the browser (their ETags come back at
 * completion), so none are listed here.
 */
export async function receivedParts(
  services: Services,
  session: SessionRow,
  storage?: SessionStorage,
): Promise<ReceivedPart[]> {
  if (session.mode === "relay_stream") {
    return (await receivedRelayParts(services, session.id)).map((p) => ({
      partNumber: p.partNumber,
      size: p.size ?? 0,
      sha256: p.sha256,
      etag: p.etag,
    }));
  }
  const s = storage ?? (await sessionStorage(services, session));
  if (!session.multipartId) {
    const head = await s.driver.head(session.storageKey);
    if (!head || head.size !== session.size) return [];
    return [{ partNumber: 1, size: head.size, sha256: head.sha256, etag: head.etag }];
  }
  const listParts = s.driver.listParts;
  if (!listParts) return [];
  const parts = await listParts(session.storageKey, session.multipartId).catch((error: unknown) => {
    // The storage forgets a multipart upload once composed or aborted.
    if (error instanceof AppError && error.code === "multipart_not_found") return [];
    throw error;
  });
  return parts
    .filter(
      (p) => p.partNumber <= session.partCount && p.size === partSize(session, session.size, p.partNumber),
    )
    .map((p) => ({ partNumber: p.partNumber, size: p.size, sha256: p.sha256, etag: p.etag }));
}

/** Streams a stored object through SHA-256 (for stores that cannot report a composed digest). */
export async function hashStored(
  driver: StorageDriver,
  key: string,
): Promise<{ size: number; sha256: string }> {
  const object = await driver.get(key);
  if (!object) throw new AppError("storage_unavailable", "The composed object is not readable yet.");
  const metered = meter(object.body, object.size);
  await metered.stream.pipeTo(new WritableStream());
  return metered.done;
}

/** Relay claims are per session; completion and abort drop them. */
export async function dropPartRows(services: Services, sessionId: string): Promise<void> {
  await services.db.delete(uploadParts).where(eq(uploadParts.sessionId, sessionId));
}
