// Owns move jobs as records: creating one (checked like its dry run, refused when its target cannot
// take files, lacks the space its last probe showed, or when any of its files is already moving in
// another job; its files are listed in the same batch, where the one-unfinished-item-per-file index
// makes two jobs over the same files impossible even when created at once), and the admin's actions:
// pause (no new file starts; copies under way finish), resume, cancel (unfinished files stay where
// they are and copies under way are discarded) and retry of failed files.
import { and, desc, eq, inArray, sql } from "drizzle-orm";
import { randomId } from "../../shared/crypto.ts";
import { AppError, notFound } from "../../shared/errors.ts";
import type { MovePlan, MoveRequest } from "../api/moves.ts";
import { isUniqueViolation } from "../db/constraints.ts";
import { files, moveItems, moveJobs, pendingObjectDeletions } from "../db/schema.ts";
import { describeError } from "../logger.ts";
import type { Services } from "../services.ts";
import { driverForPolicy } from "../storage/factory.ts";
import { planMove, resolveMove } from "./plan.ts";
import { ABANDONED_COPY_GRACE_MS, runMoves } from "./runner.ts";
import { loadTargetPolicy } from "./target.ts";

export type MoveJobRow = typeof moveJobs.$inferSelect;

/** Work done right after an admin's action, inside its request's waitUntil; the scheduled runs go on. */
export const KICK_BUDGET_MS = 20_000;

export async function dryRun(services: Services, request: MoveRequest): Promise<MovePlan> {
  return planMove(services, await resolveMove(services, request));
}

export async function createMoveJob(
  services: Services,
  request: MoveRequest,
  createdBy: string,
): Promise<MoveJobRow> {
  const move = await resolveMove(services, request);
  const plan = await planMove(services, move);
  const problem = move.target.problems[0];
  if (problem) {
    throw new AppError("move_target_unavailable", "The target storage policy cannot take files now.", {
      details: { reason: problem },
    });
  }
  const busy = plan.blocked.find((b) => b.reason === "in_other_move");
  if (busy) {
    throw new AppError("move_conflict", `${busy.files} of these files are already moving in another job.`, {
      details: { files: busy.files, examples: busy.examples.map((e) => e.fileId) },
    });
  }
  if (plan.space.enough === false) {
    throw new AppError("move_target_full", "The target's free space at its last probe is less than needed.", {
      details: { needed_bytes: plan.space.neededBytes, free_bytes: plan.space.freeBytes },
    });
  }
  const id = randomId();
  const now = services.now();
  const source = move.source;
  const insertJob = services.db
    .insert(moveJobs)
    .values({
      id,
      sourceKind: source.kind,
      sourcePolicyId: source.kind === "policy" ? source.policyId : null,
      sourceNodeId: source.kind === "node" ? source.nodeId : null,
      sourceName: move.sourceName,
      targetPolicyId: move.target.policy.id,
      targetName: move.target.policy.name,
      scopeKind: move.scope.kind,
      scopeId: move.scope.id,
      state: "running",
      createdBy,
      runningSince: now,
      createdAt: now,
      updatedAt: now,
    })
    .returning();
  const listFiles =
    services.db.run(sql`insert into ${moveItems} (job_id, file_id, size, state, next_attempt_at)
    select ${id}, ${files.id}, ${files.size}, 'pending', ${now.getTime()} from ${files} where ${move.where}`);
  try {
    const [[job]] = await services.db.batch([insertJob, listFiles]);
    return job!;
  } catch (error) {
    if (isUniqueViolation(error)) {
      throw new AppError("move_conflict", "Some of these files started moving in another job meanwhile.");
    }
    throw error;
  }
}

export async function listMoveJobs(services: Services): Promise<MoveJobRow[]> {
  return services.db.select().from(moveJobs).orderBy(desc(moveJobs.createdAt)).limit(200);
}

export async function loadMoveJob(services: Services, id: string): Promise<MoveJobRow> {
  const [job] = await services.db.select().from(moveJobs).where(eq(moveJobs.id, id));
  if (!job) throw notFound("move job");
  return job;
}

/** Starts working on a job at once (bounded), so an admin sees it move without waiting for the cron. */
export function kick(services: Services, jobId: string): void {
  services.waitUntil(
    runMoves(services, { jobId, budgetMs: KICK_BUDGET_MS }).catch((error: unknown) => {
      services.log.warn("move run after an admin action failed; the scheduled run retries", {
        job_id: jobId,
        error: describeError(error),
      });
    }),
  );
}

function closed(job: MoveJobRow, action: string): AppError {
  return new AppError("move_job_closed", `This move job is ${job.state}; it cannot be ${action}.`, {
    details: { state: job.state },
  });
}

/** The running time so far folded into run_ms, for the rate (pauses do not count). */
const foldRunTime = (now: number) =>
  sql`${moveJobs.runMs} + case when ${moveJobs.runningSince} is null then 0 else ${now} - ${moveJobs.runningSince} end`;

export async function pauseMoveJob(services: Services, job: MoveJobRow): Promise<MoveJobRow> {
  if (job.state === "paused") return job;
  if (job.state !== "running") throw closed(job, "paused");
  const now = services.now();
  const [row] = await services.db
    .update(moveJobs)
    .set({ state: "paused", runMs: foldRunTime(now.getTime()), runningSince: null, updatedAt: now })
    .where(and(eq(moveJobs.id, job.id), eq(moveJobs.state, "running")))
    .returning();
  return row ?? loadMoveJob(services, job.id);
}

export async function resumeMoveJob(services: Services, job: MoveJobRow): Promise<MoveJobRow> {
  if (job.state === "running") return job;
  if (job.state !== "paused") throw closed(job, "resumed");
  const now = services.now();
  const [row] = await services.db
    .update(moveJobs)
    .set({ state: "running", runningSince: now, updatedAt: now })
    .where(and(eq(moveJobs.id, job.id), eq(moveJobs.state, "paused")))
    .returning();
  if (row) kick(services, row.id);
  return row ?? loadMoveJob(services, job.id);
}

/**
 * Ends the job: files not yet switched stay where they are (their items are cancelled, so other jobs
 * may take them), a copy under way is never switched, and what copies left on the target is queued
 * for deletion once any of them still landing has had time to (pulls are stopped as well).
 */
export async function cancelMoveJob(services: Services, job: MoveJobRow): Promise<MoveJobRow> {
  if (job.state === "cancelled") return job;
  if (job.state === "completed") throw closed(job, "cancelled");
  const now = services.now();
  const inFlight = await services.db
    .select({ destKey: moveItems.destKey, destLocation: moveItems.destLocation, pullId: moveItems.pullId })
    .from(moveItems)
    .where(and(eq(moveItems.jobId, job.id), eq(moveItems.state, "copying")));
  const [[row]] = await services.db.batch([
    services.db
      .update(moveJobs)
      .set({
        state: "cancelled",
        runMs: foldRunTime(now.getTime()),
        runningSince: null,
        runnerClaim: null,
        runnerUntil: null,
        finishedAt: now,
        updatedAt: now,
      })
      .where(and(eq(moveJobs.id, job.id), inArray(moveJobs.state, ["running", "paused"])))
      .returning(),
    services.db.run(sql`insert into ${pendingObjectDeletions}
        (id, policy_id, storage_key, location, attempts, next_attempt_at, created_at)
        select 'mv_' || lower(hex(randomblob(16))), ${job.targetPolicyId}, dest_key, dest_location, 0,
          ${now.getTime() + ABANDONED_COPY_GRACE_MS}, ${now.getTime()}
        from ${moveItems} where job_id = ${job.id} and state = 'copying' and dest_key is not null
          and ${job.targetPolicyId} is not null`),
    services.db
      .update(moveItems)
      .set({ state: "cancelled", claim: null, finishedAt: now })
      .where(and(eq(moveItems.jobId, job.id), inArray(moveItems.state, ["pending", "copying"]))),
  ]);
  if (!row) return loadMoveJob(services, job.id);
  await stopPulls(services, job, inFlight);
  return row;
}

/** Best effort: a stopped pull commits nothing; one that cannot be reached is covered by the deletion. */
async function stopPulls(
  services: Services,
  job: MoveJobRow,
  items: { destLocation: string | null; pullId: string | null }[],
): Promise<void> {
  const pulls = items.filter((i) => i.pullId !== null);
  if (pulls.length === 0 || !job.targetPolicyId) return;
  const policy = await loadTargetPolicy(services, job.targetPolicyId);
  if (!policy) return;
  for (const item of pulls) {
    try {
      const driver = await driverForPolicy(services, policy, { location: item.destLocation });
      await driver.cancelPull?.(item.pullId!);
    } catch (error) {
      services.log.warn("could not stop a pull of a cancelled move", {
        job_id: job.id,
        error: describeError(error),
      });
    }
  }
}

/** Failed files are tried again (a completed job runs again until they are done or fail anew). */
export async function retryFailedMoves(services: Services, job: MoveJobRow): Promise<MoveJobRow> {
  if (job.state === "cancelled") throw closed(job, "retried");
  const now = services.now();
  try {
    const [, [row]] = await services.db.batch([
      services.db
        .update(moveItems)
        .set({
          state: "pending",
          attempts: 0,
          nextAttemptAt: now,
          lastError: null,
          lastMessage: null,
          finishedAt: null,
        })
        .where(and(eq(moveItems.jobId, job.id), eq(moveItems.state, "failed"))),
      services.db
        .update(moveJobs)
        .set({ state: "running", runningSince: now, finishedAt: null, updatedAt: now })
        .where(and(eq(moveJobs.id, job.id), eq(moveJobs.state, "completed")))
        .returning(),
    ]);
    const result = row ?? (await loadMoveJob(services, job.id));
    if (result.state === "running") kick(services, result.id);
    return result;
  } catch (error) {
    if (isUniqueViolation(error)) {
      throw new AppError("move_conflict", "Some of the failed files are moving in another job now.");
    }
    throw error;
  }
}
