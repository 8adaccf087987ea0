// Owns the object pulls of this agent: the primary names an object, its size and SHA-256 and a URL to
// GET it from (a short-lived presigned URL of another follower or of an S3 store); the agent fetches
// the bytes itself and writes them through the target's atomic put, held to that size and digest, so
// nothing partial or different is ever kept. Pulls run in the background and the primary polls them.
// The book is in memory: a restart forgets its pulls (the start sweep removes their temp files) and
// the primary, finding the pull gone, starts another.
import { AppError } from "../shared/errors.ts";
import type { PullRequest, PullStatus } from "../shared/protocol/schemas.ts";
import type { Logger } from "./log.ts";
import type { Metrics } from "./metrics.ts";
import type { ResolvedTarget } from "./targets.ts";

/** Pulls running at once; more are refused (rate_limited) until one ends. */
export const MAX_RUNNING_PULLS = 8;
/** How long a finished pull's state stays readable. */
const KEEP_FINISHED_MS = 3600 * 1000;
const MAX_RECORDS = 1000;
/** The source must start answering within this, and never fall silent longer mid-body. */
const ANSWER_TIMEOUT_MS = 30_000;
const IDLE_TIMEOUT_MS = 60_000;

interface PullRecord {
  request: PullRequest;
  status: PullStatus;
  controller: AbortController;
  finishedAt: number | null;
}

export interface PullBookDeps {
  fetch: typeof fetch;
  metrics: Metrics;
  log: Logger;
  now: () => Date;
}

export function createPullBook(deps: PullBookDeps) {
  const records = new Map<string, PullRecord>();

  function forgetOld(): void {
    const now = deps.now().getTime();
    for (const [id, record] of records) {
      if (record.finishedAt !== null && now - record.finishedAt > KEEP_FINISHED_MS) records.delete(id);
    }
    if (records.size < MAX_RECORDS) return;
    const finished = [...records].filter(([, r]) => r.finishedAt !== null);
    finished.sort(([, a], [, b]) => (a.finishedAt ?? 0) - (b.finishedAt ?? 0));
    for (const [id] of finished.slice(0, records.size - MAX_RECORDS + 1)) records.delete(id);
  }

  function finish(record: PullRecord, outcome: Pick<PullStatus, "state" | "object" | "error">): void {
    record.finishedAt = deps.now().getTime();
    record.status = { ...record.status, ...outcome, finished_at: deps.now().toISOString() };
  }

  async function run(record: PullRecord, target: ResolvedTarget): Promise<void> {
    const { request, controller } = record;
    try {
      const body = await fetchSource(deps.fetch, request, controller, (n) => {
        record.status.received_bytes += n;
        deps.metrics.bytesIn(n);
      });
      const stored = await target.store.put(request.key, body, {
        size: request.size,
        sha256: request.sha256,
        contentType: request.content_type ?? null,
      });
      const object = {
        key: request.key,
        target: target.key,
        size: stored.size,
        sha256: stored.sha256,
        etag: `"${stored.sha256}"`,
        content_type: stored.contentType,
      };
      finish(record, { state: "done", object, error: null });
      deps.log.info("object pulled", { pull_id: request.pull_id, target: target.key, size: stored.size });
    } catch (thrown) {
      const error = pullFailure(thrown, controller.signal);
      finish(record, {
        state: "failed",
        object: null,
        error: {
          code: error.code,
          message: error.message,
          source_status: (error.details as { source_status?: number } | undefined)?.source_status ?? null,
        },
      });
      deps.log.info("object pull failed", { pull_id: request.pull_id, code: error.code });
    }
  }

  return {
    /** Starts a pull, or answers the one already started under this id with the same request. */
    start(request: PullRequest, target: ResolvedTarget): PullStatus {
      forgetOld();
      const existing = records.get(request.pull_id);
      if (existing) {
        const same =
          existing.request.key === request.key &&
          existing.request.sha256 === request.sha256 &&
          existing.request.size === request.size &&
          existing.status.target === target.key;
        if (!same) throw new AppError("conflict", "This pull id was used for another pull.");
        return existing.status;
      }
      const running = [...records.values()].filter((r) => r.finishedAt === null).length;
      if (running >= MAX_RUNNING_PULLS) {
        throw new AppError("rate_limited", `At most ${MAX_RUNNING_PULLS} pulls run at once.`, {
          headers: { "retry-after": "5" },
        });
      }
      const record: PullRecord = {
        request,
        controller: new AbortController(),
        finishedAt: null,
        status: {
          pull_id: request.pull_id,
          key: request.key,
          target: target.key,
          state: "running",
          size: request.size,
          received_bytes: 0,
          object: null,
          error: null,
          started_at: deps.now().toISOString(),
          finished_at: null,
        },
      };
      records.set(request.pull_id, record);
      void run(record, target);
      return record.status;
    },

    status(id: string): PullStatus {
      const record = records.get(id);
      if (!record)
        throw new AppError("pull_not_found", "No such pull (finished long ago, or before a restart).");
      return record.status;
    },

    /** Stops a running pull (nothing it fetched is kept) and forgets it. Idempotent. */
    cancel(id: string): void {
      const record = records.get(id);
      if (!record) return;
      record.controller.abort(new AppError("pull_not_found", "The pull was cancelled."));
      records.delete(id);
    },

    /** Pulls still running (for the start of a graceful stop and for tests). */
    running(): number {
      return [...records.values()].filter((r) => r.finishedAt === null).length;
    },
  };
}

export type PullBook = ReturnType<typeof createPullBook>;

/**
 * GETs the source: no redirect followed (a redirect could lead anywhere), 200 with the declared length
 * only; the body is counted as it arrives and aborted when the source falls silent.
 */
async function fetchSource(
  fetchImpl: typeof fetch,
  request: PullRequest,
  controller: AbortController,
  received: (n: number) => void,
): Promise<AsyncIterable<Uint8Array>> {
  let timer = setTimeout(() => controller.abort(), ANSWER_TIMEOUT_MS);
  let response: Response;
  try {
    response = await fetchImpl(request.source_url, { redirect: "manual", signal: controller.signal });
  } catch (cause) {
    clearTimeout(timer);
    throw new AppError("pull_source_unreachable", "The pull's source could not be reached.", { cause });
  }
  clearTimeout(timer);
  if (response.status !== 200) {
    await response.body?.cancel().catch(() => {});
    throw new AppError("pull_source_refused", `The pull's source answered HTTP ${response.status}.`, {
      details: { source_status: response.status },
    });
  }
  const length = response.headers.get("content-length");
  if (length !== null && Number(length) !== request.size) {
    await response.body?.cancel().catch(() => {});
    throw new AppError(
      "pull_source_refused",
      `The pull's source offers ${length} bytes, not ${request.size}.`,
      {
        details: { source_status: response.status },
      },
    );
  }
  const body = response.body;
  async function* counted(): AsyncGenerator<Uint8Array> {
    if (!body) return;
    timer = setTimeout(() => controller.abort(), IDLE_TIMEOUT_MS);
    try {
      for await (const chunk of body) {
        clearTimeout(timer);
        timer = setTimeout(() => controller.abort(), IDLE_TIMEOUT_MS);
        received(chunk.byteLength);
        yield chunk;
      }
    } finally {
      clearTimeout(timer);
    }
  }
  return counted();
}

/** What a failed pull reports: the store's own refusal, or why the source did not deliver. */
function pullFailure(thrown: unknown, signal: AbortSignal): AppError {
  if (signal.aborted && signal.reason instanceof AppError) return signal.reason;
  if (thrown instanceof AppError) {
    // A body that broke off is the source's failure, not a short upload.
    if (thrown.code === "content_length_mismatch" && thrown.cause !== undefined) {
      return new AppError("pull_source_unreachable", "The pull's source stopped sending mid-object.", {
        cause: thrown,
      });
    }
    return thrown;
  }
  if (signal.aborted) {
    return new AppError("pull_source_unreachable", "The pull's source stopped answering.", { cause: thrown });
  }
  return new AppError("internal", "Internal error.", { cause: thrown });
}
