// Owns getting one file's bytes onto the target by the shortest path. Where the target pulls
// (a follower) and the source can hand out a presigned GET URL (a follower, or S3), the target fetches
// the object itself: the primary starts the pull and polls it, carrying nothing. Otherwise, or when
// the target cannot reach the source that way, the bytes stream through the primary, metered, never
// buffered whole. Either way the copy is committed only with the file's size and SHA-256, and is
// checked again at the destination before the file may switch to it.

import { randomToken } from "../../shared/crypto.ts";
import { AppError } from "../../shared/errors.ts";
import type { FileRow } from "../files/records.ts";
import type { Services } from "../services.ts";
import type { PolicyRow } from "../storage/factory.ts";
import type { PullState, StorageDriver } from "../storage/types.ts";

/** How long the presigned source URL a target pulls from is valid (the fetch starts at once). */
const PULL_URL_TTL_SECONDS = 600;
/** Pull refusals that say the target could not get the bytes that way, so they are relayed instead. */
const PULL_PATH_FAILURES = new Set(["pull_source_unreachable", "pull_source_refused"]);

export interface CopyJob {
  services: Services;
  file: FileRow;
  sourcePolicy: PolicyRow;
  source: StorageDriver;
  target: StorageDriver;
  /** The target node fetches objects itself. */
  targetPulls: boolean;
  /** The source hands out URLs the target can reach (sourcePullable). */
  sourcePullable: boolean;
  destKey: string;
  /** A pull of an earlier run of this item that may still be under way on the target. */
  pullId: string | null;
  /** Remembers a pull before it starts, so a later run can find it again. */
  recordPull(pullId: string | null): Promise<void>;
  progress(bytes: number): Promise<void>;
  /** Past this time a pull still under way is left running for the next run to pick up. */
  deadline: number;
  sleep(ms: number): Promise<void>;
}

export type CopyOutcome =
  | { kind: "copied"; path: "pull" | "relay"; location: string | null }
  | { kind: "parked" };

export async function copyFile(job: CopyJob): Promise<CopyOutcome> {
  const { file } = job;
  if (job.target.startPull && job.targetPulls && job.sourcePullable && job.source.presign) {
    const pulled = await pull(job);
    if (pulled.kind !== "fallback") return pulled;
  }
  await job.recordPull(null);
  const object = await job.source.get(file.storageKey);
  if (!object) throw sourceMissing();
  let sent = 0;
  let reported = 0;
  const counted = object.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      async transform(chunk, controller) {
        sent += chunk.byteLength;
        controller.enqueue(chunk);
        if (sent - reported >= 64 * 1024 * 1024) {
          reported = sent;
          await job.progress(sent);
        }
      },
    }),
  );
  const put = await job.target.put(job.destKey, counted, {
    size: file.size,
    sha256: file.sha256,
    contentType: file.contentType,
  });
  await verifyAtDestination(job, put);
  return { kind: "copied", path: "relay", location: put.location };
}

type PullOutcome = CopyOutcome | { kind: "fallback" };

async function pull(job: CopyJob): Promise<PullOutcome> {
  const target = job.target as Required<Pick<StorageDriver, "startPull" | "pullState" | "cancelPull">> &
    StorageDriver;
  let state: PullState | null = null;
  if (job.pullId) {
    state = await target.pullState(job.pullId).catch((error: unknown) => {
      if (error instanceof AppError && error.code === "pull_not_found") return null;
      throw error;
    });
    // Forgotten (the target restarted): what it committed, if anything, is at the key.
    if (state === null && (await landed(job))) return { kind: "copied", path: "pull", location: null };
  }
  if (state === null) {
    const url = await job.source.presign!({
      method: "GET",
      key: job.file.storageKey,
      expiresIn: PULL_URL_TTL_SECONDS,
    });
    const id = randomToken("pl", 18);
    await job.recordPull(id);
    state = await target.startPull(job.destKey, {
      id,
      url: url.url,
      size: job.file.size,
      sha256: job.file.sha256,
      contentType: job.file.contentType,
    });
  }
  let wait = 100;
  while (state.state === "running") {
    if (Date.now() >= job.deadline) return { kind: "parked" };
    await job.sleep(wait);
    wait = Math.min(wait * 2, 2000);
    state = await target.pullState(state.id);
    await job.progress(state.receivedBytes);
  }
  if (state.state === "failed") {
    const error = state.error ?? new AppError("follower_error", "The pull failed without a reason.");
    if (PULL_PATH_FAILURES.has(error.code) && sourceStatus(error) !== 404) return { kind: "fallback" };
    if (sourceStatus(error) === 404) throw sourceMissing();
    throw error;
  }
  const result = state.result;
  if (!result) throw new AppError("follower_error", "The pull finished without naming what it stored.");
  await verifyAtDestination(job, result);
  return { kind: "copied", path: "pull", location: result.location };
}

function sourceStatus(error: AppError): number | null {
  return (error.details as { source_status?: number | null } | undefined)?.source_status ?? null;
}

/** An earlier pull the target forgot may have committed the object: true when it is there, whole. */
async function landed(job: CopyJob): Promise<boolean> {
  const head = await job.target.head(job.destKey);
  return head !== null && head.size === job.file.size && head.sha256 === job.file.sha256;
}

/**
 * The destination itself must report the file's size (and SHA-256 where it keeps it) for the object
 * at the key, besides what the write answered; a copy that differs is never switched.
 */
async function verifyAtDestination(job: CopyJob, written: { size: number; sha256: string }): Promise<void> {
  const head = await job.target.head(job.destKey);
  const sha256 = head?.sha256 ?? written.sha256;
  if (!head || head.size !== job.file.size || written.size !== job.file.size) {
    throw new AppError(
      "content_length_mismatch",
      "The copy at the destination does not have the file's size.",
      {
        details: { expected: job.file.size, found: head?.size ?? null },
      },
    );
  }
  if (sha256 !== job.file.sha256 || written.sha256 !== job.file.sha256) {
    throw new AppError(
      "content_digest_mismatch",
      "The copy at the destination does not have the file's SHA-256.",
      {
        details: { expected: job.file.sha256, found: sha256 },
      },
    );
  }
}

function sourceMissing(): AppError {
  return new AppError("storage_rejected", "The source storage no longer has this file's bytes.", {
    details: { reason: "source_object_missing" },
  });
}
