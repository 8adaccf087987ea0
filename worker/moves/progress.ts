// Owns what a move job shows while it runs and after: files and bytes in each state (done, failed,
// skipped, waiting for a storage, being copied, still to do), the bytes of copies under way, the rate
// over the time the job ran (pauses excluded), the time left at that rate, and the failed files with
// their reasons. Everything is read from the items in one statement per job.
import { and, desc, eq, inArray, sql } from "drizzle-orm";
import type { MoveFailure, MoveProgress, Tally } from "../api/moves.ts";
import { files, type MoveItemState, moveItems, type moveJobs } from "../db/schema.ts";
import type { Services } from "../services.ts";

type JobRow = typeof moveJobs.$inferSelect;

const waitingItem = sql<number>`(${moveItems.state} = 'pending' and ${moveItems.lastError} is not null)`;

const STATES: MoveItemState[] = ["pending", "copying", "done", "failed", "skipped", "cancelled"];

export async function jobProgress(services: Services, jobs: JobRow[]): Promise<Map<string, MoveProgress>> {
  const result = new Map<string, MoveProgress>();
  if (jobs.length === 0) return result;
  const rows = await services.db
    .select({
      jobId: moveItems.jobId,
      state: moveItems.state,
      waiting: waitingItem,
      files: sql<number>`count(*)`,
      bytes: sql<number>`coalesce(sum(${moveItems.size}), 0)`,
      copied: sql<number>`coalesce(sum(${moveItems.copiedBytes}), 0)`,
    })
    .from(moveItems)
    .where(
      inArray(
        moveItems.jobId,
        jobs.map((j) => j.id),
      ),
    )
    .groupBy(moveItems.jobId, moveItems.state, waitingItem);
  const now = services.now().getTime();
  for (const job of jobs) {
    const tallies = Object.fromEntries(STATES.map((s) => [s, { files: 0, bytes: 0 }])) as Record<
      MoveItemState,
      Tally
    >;
    const waiting = { files: 0, bytes: 0 };
    let copyingBytesDone = 0;
    for (const row of rows.filter((r) => r.jobId === job.id)) {
      const tally = tallies[row.state];
      tally.files += Number(row.files);
      tally.bytes += Number(row.bytes);
      if (Number(row.waiting) === 1) {
        waiting.files += Number(row.files);
        waiting.bytes += Number(row.bytes);
      }
      if (row.state === "copying") copyingBytesDone += Number(row.copied);
    }
    const total = STATES.reduce(
      (sum, s) => ({ files: sum.files + tallies[s].files, bytes: sum.bytes + tallies[s].bytes }),
      { files: 0, bytes: 0 },
    );
    const runMs = job.runMs + (job.runningSince ? Math.max(0, now - job.runningSince.getTime()) : 0);
    const rate = runMs > 0 && tallies.done.bytes > 0 ? (tallies.done.bytes * 1000) / runMs : null;
    const left = tallies.pending.bytes + tallies.copying.bytes - copyingBytesDone;
    result.set(job.id, {
      total,
      done: tallies.done,
      failed: tallies.failed,
      skipped: tallies.skipped,
      cancelled: tallies.cancelled,
      waiting,
      copying: tallies.copying,
      pending: tallies.pending,
      copyingBytesDone,
      runMs,
      bytesPerSecond: rate,
      secondsLeft: rate && job.state === "running" ? Math.ceil(Math.max(0, left) / rate) : null,
    });
  }
  return result;
}

/** The job's failed files (newest first, at most `limit`), with the file's name while it exists. */
export async function jobFailures(services: Services, jobId: string, limit = 100): Promise<MoveFailure[]> {
  const rows = await services.db
    .select({
      fileId: moveItems.fileId,
      name: files.name,
      size: moveItems.size,
      code: moveItems.lastError,
      message: moveItems.lastMessage,
      attempts: moveItems.attempts,
      finishedAt: moveItems.finishedAt,
    })
    .from(moveItems)
    .leftJoin(files, eq(files.id, moveItems.fileId))
    .where(and(eq(moveItems.jobId, jobId), eq(moveItems.state, "failed")))
    .orderBy(desc(moveItems.finishedAt))
    .limit(limit);
  return rows.map((r) => ({ ...r, code: r.code ?? "internal", message: r.message ?? "" }));
}
