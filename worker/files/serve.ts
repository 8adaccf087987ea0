// Owns answering a file's bytes: conditionals (If-None-Match -> 304, If-Range), one byte range
// (206 / 416), and the transfer mode of the file's policy: relayed as a stream from its driver (ranges
// passed through, never buffered) or a redirect to a short-lived presigned storage URL. Storage that
// cannot be reached answers 502 storage_unavailable.
import { eq, sql } from "drizzle-orm";
import type { BatchResponse } from "drizzle-orm/batch";
import { AppError } from "../../shared/errors.ts";
import { files, followerNodes, storagePolicies } from "../db/schema.ts";
import type { Services } from "../services.ts";
import { driverForPolicy, type PolicyRow } from "../storage/factory.ts";
import { resolveRange, withKnownLength } from "../storage/streams.ts";
import type { StorageDriver } from "../storage/types.ts";
import {
  contentDisposition,
  entityTag,
  ifRangeAllows,
  noneMatch,
  parseRange,
  reprDigest,
  STORED_BYTES_HEADERS,
} from "./http-headers.ts";
import { type FileRow, liveFileOf, liveFileStatement } from "./records.ts";
import type { SpaceRef } from "./spaces.ts";

export const PRESIGNED_DOWNLOAD_TTL_SECONDS = 300;

/** Anything a file's bytes are served with may be opened by a browser: it must never run script. */
export const SANDBOX_CSP =
  "sandbox; default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'";

export interface ServeOptions {
  disposition: "attachment" | "inline";
  /** Content-Type to send; defaults to the stored one. */
  contentType?: string;
  /** "policy" follows the policy's download mode; "relay" always streams through the primary. */
  mode: "policy" | "relay";
  /** With presigned: answer the URL as JSON instead of a 302. */
  redirect: boolean;
  /** Called once the bytes (or a URL to them) are ready, before they are handed out; may refuse. */
  beforeServe?: () => Promise<void>;
  /** Last-Modified to answer; defaults to when the file was created. */
  lastModified?: Date;
  /** The file's policy and its follower node, read already (fileReads); else read here. */
  storage?: FileStorage;
}

export interface FileStorage {
  policy: PolicyRow;
  node: typeof followerNodes.$inferSelect | null;
}

/**
 * A download's reads, for authentication's round trip (a route's authReads): the live file of the
 * space (a personal space's id may be SQL, the caller's), its policy and that policy's follower node,
 * found through the file's row. fileFrom reads their rows.
 */
export function fileReads(services: Services, space: SpaceRef, fileId: string) {
  const policyId = sql`(select ${files.policyId} from ${files} where ${files.id} = ${fileId})`;
  const nodeId = sql`(select ${storagePolicies.nodeId} from ${storagePolicies} where ${storagePolicies.id} = ${policyId})`;
  return [
    liveFileStatement(services, space, fileId),
    services.db.select().from(storagePolicies).where(eq(storagePolicies.id, policyId)),
    services.db.select().from(followerNodes).where(eq(followerNodes.id, nodeId)),
  ] as const;
}

/** The live file (or 404) and its storage from the rows of fileReads. */
export function fileFrom(rows: unknown[]): { file: FileRow; storage: FileStorage } {
  const [fileRows, policyRows, nodeRows] = rows as unknown as BatchResponse<ReturnType<typeof fileReads>>;
  const file = liveFileOf(fileRows);
  const [policy] = policyRows;
  if (!policy) {
    throw new AppError("internal", "Internal error.", {
      cause: new Error(`file ${file.id} lost its policy`),
    });
  }
  return { file, storage: { policy, node: nodeRows[0] ?? null } };
}

const UNREACHABLE = new Set(["follower_unreachable", "follower_timeout", "storage_unavailable"]);

/** Maps "could not reach the storage" refusals to one clear code; other refusals pass unchanged. */
export function storageFailure(error: unknown, policyId: string): unknown {
  if (error instanceof AppError && UNREACHABLE.has(error.code)) {
    return new AppError("storage_unavailable", "The storage holding this file cannot be reached right now.", {
      details: { policy_id: policyId, reason: error.code },
      cause: error,
    });
  }
  return error;
}

export async function policyOf(services: Services, file: FileRow): Promise<PolicyRow> {
  const [policy] = await services.db
    .select()
    .from(storagePolicies)
    .where(eq(storagePolicies.id, file.policyId));
  if (!policy)
    throw new AppError("internal", "Internal error.", {
      cause: new Error(`file ${file.id} lost its policy`),
    });
  return policy;
}

export async function fileDriver(
  services: Services,
  file: FileRow,
  policy: PolicyRow,
  node?: FileStorage["node"],
): Promise<StorageDriver> {
  try {
    return await driverForPolicy(services, policy, {
      location: file.location,
      ...(node !== undefined ? { node } : {}),
    });
  } catch (error) {
    throw storageFailure(error, policy.id);
  }
}

export async function serveFile(
  services: Services,
  request: Request,
  file: FileRow,
  options: ServeOptions,
): Promise<Response> {
  const etag = entityTag(file.sha256);
  const contentType = options.contentType ?? file.contentType;
  const headers = new Headers({
    etag,
    "accept-ranges": "bytes",
    "repr-digest": reprDigest(file.sha256),
    "last-modified": (options.lastModified ?? file.createdAt).toUTCString(),
    ...STORED_BYTES_HEADERS,
    "x-content-type-options": "nosniff",
    "content-security-policy": SANDBOX_CSP,
    "content-disposition": contentDisposition(options.disposition, file.name),
  });
  if (noneMatch(request.headers.get("if-none-match"), etag)) {
    return new Response(null, { status: 304, headers });
  }
  const requested = ifRangeAllows(request.headers.get("if-range"), etag)
    ? parseRange(request.headers.get("range"))
    : null;
  const policy = options.storage?.policy ?? (await policyOf(services, file));
  const driver = await fileDriver(services, file, policy, options.storage?.node);

  if (options.mode === "policy" && policy.downloadMode === "presigned" && driver.presign) {
    // A HEAD is never counted (shares), so it must not carry what a counted GET hands out: the URL.
    // It answers the representation's headers instead, and signs nothing.
    if (request.method === "HEAD") {
      headers.set("content-type", contentType);
      headers.set("content-length", String(file.size));
      return new Response(null, { status: 200, headers });
    }
    const presign = driver.presign;
    const signed = await run(policy.id, () =>
      presign({
        method: "GET",
        key: file.storageKey,
        expiresIn: PRESIGNED_DOWNLOAD_TTL_SECONDS,
        responseContentType: contentType,
        responseContentDisposition: headers.get("content-disposition") ?? undefined,
      }),
    );
    await options.beforeServe?.();
    const noStore = { "cache-control": "no-store" };
    if (!options.redirect) {
      return Response.json(
        { url: signed.url, expires_at: signed.expiresAt.toISOString() },
        { headers: noStore },
      );
    }
    return new Response(null, { status: 302, headers: { ...noStore, location: signed.url } });
  }

  const range = requested ? resolveRange(requested, file.size) : null;
  // The client's signal goes down to the storage: a download whose client left while it waited (a
  // follower's channel with every stream busy) is never asked of the follower.
  const object = await run(policy.id, () =>
    driver.get(file.storageKey, { ...(range ? { range } : {}), signal: request.signal }),
  );
  if (!object) {
    throw new AppError("storage_rejected", "The storage no longer has this file's bytes.", {
      details: { policy_id: policy.id },
    });
  }
  // Counted only once the storage answered, so an unreachable follower never uses up a download.
  try {
    await options.beforeServe?.();
  } catch (error) {
    await object.body.cancel().catch(() => {});
    throw error;
  }
  const length = range ? range.length : file.size;
  headers.set("content-type", contentType);
  headers.set("content-length", String(length));
  if (range)
    headers.set("content-range", `bytes ${range.offset}-${range.offset + range.length - 1}/${file.size}`);
  return new Response(withKnownLength(object.body, length), { status: range ? 206 : 200, headers });
}

async function run<T>(policyId: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw storageFailure(error, policyId);
  }
}
