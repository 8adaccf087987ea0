// Owns the part math of an upload: how a file of `size` bytes is cut into parts for a policy's chunk
// size, the driver's multipart limits and the transfer mode. Pure functions; the same numbers are
// stored with the session and checked on every part.
import { AppError } from "../../shared/errors.ts";
import { MAX_CHUNK_SIZE } from "../policies/check.ts";
import type { DriverLimits } from "../storage/types.ts";

export type UploadMode = "relay_stream" | "presigned";

export interface UploadPlan {
  /** Size of every part but the last; equals the file size for a single request. */
  chunkSize: number;
  partCount: number;
  /** false: one request (PUT of the whole object); true: a multipart upload on the storage. */
  multipart: boolean;
}

const MiB = 1024 * 1024;

/**
 * One request when the file fits one chunk or the policy's chunk size is 0; parts otherwise. Relay
 * requests pass through the Workers body cap, so relay never sends more than MAX_CHUNK_SIZE at once
 * (a chunk size of 0 then still means parts for larger files). Parts are never smaller than the
 * driver's minimum, and grow (whole MiB) when the file would need more parts than the driver allows.
 */
export function planUpload(
  size: number,
  policyChunk: number,
  limits: DriverLimits,
  mode: UploadMode,
): UploadPlan {
  const relayCap = mode === "relay_stream" ? MAX_CHUNK_SIZE : Number.POSITIVE_INFINITY;
  let chunk = policyChunk === 0 ? (size > relayCap ? relayCap : 0) : Math.min(policyChunk, relayCap);
  if (chunk === 0 || size <= chunk) return { chunkSize: size, partCount: 1, multipart: false };
  chunk = Math.max(chunk, limits.minPartSize);
  if (Math.ceil(size / chunk) > limits.maxParts) {
    chunk = Math.ceil(size / limits.maxParts / MiB) * MiB;
    if (chunk > relayCap) {
      throw new AppError("file_too_large", "The file needs more parts than the storage allows.", {
        details: { size, max_parts: limits.maxParts, max_part_size: relayCap },
      });
    }
  }
  if (size <= chunk) return { chunkSize: size, partCount: 1, multipart: false };
  return { chunkSize: chunk, partCount: Math.ceil(size / chunk), multipart: true };
}

/** Exact byte count of part `n` (1-based) of a file of `size` bytes. */
export function partSize(plan: { chunkSize: number; partCount: number }, size: number, n: number): number {
  if (n < plan.partCount) return plan.chunkSize;
  return size - plan.chunkSize * (plan.partCount - 1);
}

/** Throws upload_part_invalid unless `n` is a part number of this upload. */
export function assertPartNumber(plan: { partCount: number }, n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > plan.partCount) {
    throw new AppError("upload_part_invalid", `Part numbers of this upload are 1 to ${plan.partCount}.`, {
      details: { part_number: n, part_count: plan.partCount },
    });
  }
}
