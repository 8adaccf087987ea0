// Owns the rules a storage policy must satisfy before it is saved: driver-specific fields, transfer
// modes each backend supports, and for remote policies a follower that is enabled, enrolled,
// reachable, tested successfully and compatible with the policy's modes (clear code for each).
import { AppError } from "../../shared/errors.ts";
import { keyProblem } from "../../shared/protocol/keys.ts";
import { storedCapabilities } from "../db/probes.ts";
import type { NodeRow } from "../followers/client.ts";
import { compatibilityProblems, requirementsOf, type TransferModes } from "../followers/compat.ts";

/** Relay chunks must stay under the Workers request body cap (100 MB) with room for headers. */
export const MAX_CHUNK_SIZE = 95 * 1024 * 1024;
const S3_MIN_PART = 5 * 1024 * 1024;

const invalid = (path: string, message: string) =>
  new AppError("validation_failed", `${path} ${message}.`, { details: [{ path, message }] });

export function normalizeKeyPrefix(prefix: string): string {
  const trimmed = prefix.trim().replace(/^\/+|\/+$/g, "");
  if (trimmed === "") return "";
  const problem = keyProblem(trimmed);
  if (problem) throw invalid("key_prefix", problem);
  return trimmed;
}

export function checkChunkSize(driver: "remote" | "s3" | "primary", chunkSize: number): void {
  if (chunkSize > MAX_CHUNK_SIZE) throw invalid("chunk_size", `must be at most ${MAX_CHUNK_SIZE} bytes`);
  if (driver !== "remote" && chunkSize !== 0 && chunkSize < S3_MIN_PART) {
    throw invalid(
      "chunk_size",
      `must be 0 or at least ${S3_MIN_PART} bytes for ${driver} (multipart minimum)`,
    );
  }
}

export function checkModes(driver: "remote" | "s3" | "primary", modes: TransferModes): void {
  if (driver === "primary") {
    if (modes.uploadMode === "presigned")
      throw invalid("upload_mode", "presigned is not available for the primary store");
    if (modes.downloadMode === "presigned")
      throw invalid("download_mode", "presigned is not available for the primary store");
  }
}

/**
 * A remote policy needs its follower usable now. `others` are the node's other remote policies: the
 * node must satisfy their needs and this policy's together.
 */
export function checkRemoteNode(node: NodeRow, modes: TransferModes, others: TransferModes[]): void {
  const details = { node_id: node.id };
  if (!node.enabled) throw new AppError("node_disabled", "The follower node is disabled.", { details });
  if (node.enrollmentStatus !== "completed") {
    throw new AppError("node_not_enrolled", "The follower node has not completed enrollment.", { details });
  }
  if (node.connectivity === "outbound") {
    // Browsers cannot reach a node that only connects out: relay through the primary.
    for (const [field, mode] of [
      ["upload_mode", modes.uploadMode],
      ["download_mode", modes.downloadMode],
    ] as const) {
      if (mode === "presigned") {
        throw new AppError(
          "presign_needs_direct_node",
          `${field} presigned needs browsers to reach the follower, and this node is outbound-only: use relay_stream.`,
          { details: { ...details, field } },
        );
      }
    }
  } else if (node.baseUrl === "") {
    throw new AppError("node_no_base_url", "The follower node has no base_url the primary can reach.", {
      details,
    });
  }
  const lastAnswered = storedCapabilities(node.lastProbeJson);
  const lastGood = storedCapabilities(node.lastGoodProbeJson);
  // A newer probe that answered incompatibly outranks an older good one.
  const newestIncompatible = node.lastProbeError?.startsWith("node_incompatible") ?? false;
  if (!lastGood) {
    throw new AppError("node_never_tested", "Run Test Connection on the follower node successfully first.", {
      details,
    });
  }
  const caps = newestIncompatible && lastAnswered ? lastAnswered : lastGood;
  const problems = compatibilityProblems(caps, requirementsOf([modes, ...others]));
  if (newestIncompatible && !lastAnswered) problems.unshift(node.lastProbeError!);
  if (problems.length > 0) {
    throw new AppError("node_incompatible", `The follower node is not compatible: ${problems.join("; ")}.`, {
      details: { ...details, problems },
    });
  }
}
