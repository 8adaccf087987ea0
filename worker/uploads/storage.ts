// Owns how an upload session reaches its storage: the policy's driver pinned to the session's target,
// the follower client for what the driver interface does not carry (listing received parts, composing
// with the expected size and SHA-256 checked before commit), and which parts the storage holds.
import { eq } from "drizzle-orm";
import { AppError } from "../../shared/errors.ts";
import type { FollowerClient } from "../../shared/protocol/client.ts";
import { followerNodes, uploadParts } from "../db/schema.ts";
import { followerClient } from "../followers/client.ts";
import { viaFollower } from "../followers/errors.ts";
import type { Services } from "../services.ts";
import { driverForPolicy, type PolicyRow } from "../storage/factory.ts";
import { meter } from "../storage/streams.ts";
import { STORAGE_TIMEOUTS, type StorageDriver } from "../storage/types.ts";
import { partSize } from "./plan.ts";
import { loadPolicy, receivedRelayParts, type SessionRow } from "./sessions.ts";

export interface SessionStorage {
  policy: PolicyRow;
  driver: StorageDriver;
  /** Present for remote policies. */
  follower: FollowerClient | null;
}

export async function sessionStorage(services: Services, session: SessionRow): Promise<SessionStorage> {
  const policy = await loadPolicy(services, session);
  const driver = await driverForPolicy(services, policy, { location: session.location });
  let follower: FollowerClient | null = null;
  if (policy.driver === "remote") {
    const [node] = await services.db
      .select()
      .from(followerNodes)
      .where(eq(followerNodes.id, policy.nodeId ?? ""));
    if (!node)
      throw new AppError("internal", "Internal error.", { cause: new Error("remote policy without node") });
    follower = await followerClient(services, node, {
      // Composing a large file on the follower takes a while before it answers.
      timeoutMs: STORAGE_TIMEOUTS.answerMs,
      streamTimeoutMs: STORAGE_TIMEOUTS.longWorkMs,
    });
  }
  return { policy, driver, follower };
}

export interface ReceivedPart {
  partNumber: number;
  size: number;
  sha256: string | null;
  etag: string | null;
}

/**
 * The parts that arrived. Relay sessions know from their claims; presigned ones ask the storage
 * (the follower lists multipart parts; a single object is a HEAD). Presigned S3 multipart parts are
 * only known to the browser (their ETags come back at completion), so none are listed here.
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
  if (!s.follower) return [];
  const follower = s.follower;
  const parts = await viaFollower(() => follower.listParts(session.multipartId!)).catch((error: unknown) => {
    // The follower forgets a session once composed or aborted.
    if (error instanceof AppError && error.code === "multipart_not_found") return [];
    throw error;
  });
  return parts
    .filter(
      (p) => p.part_number <= session.partCount && p.size === partSize(session, session.size, p.part_number),
    )
    .map((p) => ({ partNumber: p.part_number, size: p.size, sha256: p.sha256, etag: p.etag }));
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
