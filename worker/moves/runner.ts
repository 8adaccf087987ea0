// Owns working through move jobs in bounded runs: each scheduled run (and a short run right after an
// admin's action) takes the lease of each running job (one runner per job at a time), claims its due
// files a few at a time, copies each (copy.ts), switches it (switch.ts) and settles its item: done,
// skipped (purged or moved elsewhere meanwhile), waiting with a back-off (a storage that cannot be
// reached: the job waits and retries, it never fails a file for that), or failed with the reason (a
// digest that does not match, a file over the target's limit, a full target). A file left mid-copy by
// a runner that died is taken over once its lease lapses. When nothing is left, the source is looked
// at once more (files that landed late) before the job completes. All state is in the database, so a
// restart of anything only delays the work.
import { and, asc, eq, inArray, isNull, lt, or, sql } from "drizzle-orm";
import { randomId } from "../../shared/crypto.ts";
import { AppError } from "../../shared/errors.ts";
import type { MoveScopeRef, MoveSource } from "../api/moves.ts";
import { files, moveItems, moveJobs } from "../db/schema.ts";
import type { FileRow } from "../files/records.ts";
import { describeError } from "../logger.ts";
import type { Services } from "../services.ts";
import { driverForPolicy, type PolicyRow } from "../storage/factory.ts";
import { copyFile } from "./copy.ts";
import { selectionCondition } from "./selection.ts";
import { discardCopy, switchToCopy } from "./switch.ts";
import { loadTargetPolicy, sourcePullable, targetFacts } from "./target.ts";

type JobRow = typeof moveJobs.$inferSelect;
type ItemRow = typeof moveItems.$inferSelect;

/** A runner's hold on a job and on the files it copies; renewed while it works. */
export const LEASE_MS = 2 * 60 * 1000;
const HEARTBEAT_MS = 30_000;
/** A copy abandoned mid-way may still land for this long; its deletion waits that out. */
export const ABANDONED_COPY_GRACE_MS = 15 * 60 * 1000;
const MAX_BACKOFF_MS = 15 * 60 * 1000;
/** Unexplained failures of one file before it counts as failed (reachability never counts). */
const MAX_UNEXPLAINED_ATTEMPTS = 5;

/** Refusals that say a storage cannot be reached or used right now: the file waits, the job goes on later. */
const WAIT_CODES = new Set([
  "follower_unreachable",
  "follower_timeout",
  "follower_error",
  "storage_unavailable",
  "node_disabled",
  "node_not_enrolled",
  "node_no_base_url",
  "ingress_default_missing",
  "ingress_default_not_applied",
  "ingress_target_not_found",
  "pull_source_unreachable",
  "rate_limited",
  "service_unavailable",
  "database_unavailable",
]);
/** Refusals no retry fixes: the file fails and says why. */
const FINAL_CODES = new Set([
  "content_digest_mismatch",
  "content_length_mismatch",
  "storage_full",
  "object_too_large",
  "file_too_large",
  "storage_rejected",
]);

export interface MoveHooks {
  /** Called between a verified copy and its switch (tests race trash, restore, rename and purge here). */
  beforeSwitch?(fileId: string): Promise<void>;
}

export interface RunOptions {
  /** Stop taking new files after this long (a scheduled run has minutes, a run after a request seconds). */
  budgetMs: number;
  /** Only this job. */
  jobId?: string;
  /** Files copied at once per job. */
  concurrency?: number;
  hooks?: MoveHooks;
}

export interface RunReport {
  jobs: number;
  moved: number;
  failed: number;
  waiting: number;
}

export async function runMoves(services: Services, options: RunOptions): Promise<RunReport> {
  const deadline = Date.now() + options.budgetMs;
  const report: RunReport = { jobs: 0, moved: 0, failed: 0, waiting: 0 };
  const jobs = await services.db
    .select({ id: moveJobs.id })
    .from(moveJobs)
    .where(and(eq(moveJobs.state, "running"), options.jobId ? eq(moveJobs.id, options.jobId) : undefined))
    .orderBy(asc(moveJobs.createdAt));
  for (const { id } of jobs) {
    if (Date.now() >= deadline) break;
    const held = await takeJob(services, id);
    if (!held) continue;
    report.jobs++;
    const runner = new JobRunner(services, held.job, held.claim, deadline, options, report);
    try {
      await runner.run();
    } finally {
      await runner.release();
    }
  }
  return report;
}

async function takeJob(services: Services, id: string): Promise<{ job: JobRow; claim: string } | null> {
  const now = services.now();
  const claim = randomId();
  const [job] = await services.db
    .update(moveJobs)
    .set({ runnerClaim: claim, runnerUntil: new Date(now.getTime() + LEASE_MS) })
    .where(
      and(
        eq(moveJobs.id, id),
        eq(moveJobs.state, "running"),
        or(isNull(moveJobs.runnerUntil), lt(moveJobs.runnerUntil, now)),
      ),
    )
    .returning();
  return job ? { job, claim } : null;
}

function backoffMs(attempts: number): number {
  return Math.min(MAX_BACKOFF_MS, 30_000 * 2 ** Math.max(0, attempts - 1));
}

/** The key a copy is written under: beside the file's own, never equal to any object's key. */
function copyKey(fileId: string): string {
  return `files/${fileId}.m${randomId().slice(0, 12)}`;
}

type Settled = "moved" | "waiting" | "failed" | "other";

class JobRunner {
  private readonly claims = new Set<string>();
  private readonly timer: ReturnType<typeof setInterval>;
  /** Set when a storage could not be reached: no new file starts in this run. */
  private stalled = false;
  private readonly policies = new Map<string, Promise<{ policy: PolicyRow; pullable: boolean }>>();

  private readonly services: Services;
  private readonly job: JobRow;
  private readonly claim: string;
  private readonly deadline: number;
  private readonly options: RunOptions;
  private readonly report: RunReport;

  constructor(
    services: Services,
    job: JobRow,
    claim: string,
    deadline: number,
    options: RunOptions,
    report: RunReport,
  ) {
    this.services = services;
    this.job = job;
    this.claim = claim;
    this.deadline = deadline;
    this.options = options;
    this.report = report;
    this.timer = setInterval(() => void this.heartbeat(), HEARTBEAT_MS);
  }

  async run(): Promise<void> {
    const targetPolicy = this.job.targetPolicyId
      ? await loadTargetPolicy(this.services, this.job.targetPolicyId)
      : null;
    if (!targetPolicy) {
      this.services.log.warn("move job has no target policy any more", { job_id: this.job.id });
      return;
    }
    const concurrency = Math.max(1, this.options.concurrency ?? 4);
    for (;;) {
      const workers = Array.from({ length: concurrency }, () => this.work(targetPolicy));
      await Promise.all(workers);
      if (this.stalled || Date.now() >= this.deadline || !(await this.stillRunning())) return;
      const left = await this.unfinished();
      if (left.due > 0) continue;
      if (left.total > 0) return;
      // Nothing left: files that landed on the source since (uploads begun before the drain) join.
      if ((await this.sweep()) > 0) continue;
      await this.complete();
      return;
    }
  }

  private async work(targetPolicy: PolicyRow): Promise<void> {
    while (!this.stalled && Date.now() < this.deadline) {
      const item = await this.claimItem();
      if (!item) return;
      const outcome = await this.move(item, targetPolicy).catch(async (error: unknown) => {
        // The database itself failed mid-way: the item keeps its claim and is taken over later.
        this.services.log.error("move of a file failed unexpectedly", {
          job_id: this.job.id,
          file_id: item.fileId,
          error: describeError(error),
        });
        this.stalled = true;
        return "other" as const;
      });
      if (outcome === "moved") this.report.moved++;
      else if (outcome === "failed") this.report.failed++;
      else if (outcome === "waiting") this.report.waiting++;
      this.claims.delete(item.claim ?? "");
    }
  }

  private async stillRunning(): Promise<boolean> {
    const [row] = await this.services.db
      .select({ state: moveJobs.state })
      .from(moveJobs)
      .where(and(eq(moveJobs.id, this.job.id), eq(moveJobs.runnerClaim, this.claim)));
    return row?.state === "running";
  }

  /** One due file of the job: pending and due, or mid-copy with its runner gone (lease lapsed). */
  private async claimItem(): Promise<ItemRow | null> {
    const now = this.services.now().getTime();
    const claim = randomId();
    const due = sql`(${moveItems.state} = 'pending' and ${moveItems.nextAttemptAt} <= ${now})
      or (${moveItems.state} = 'copying' and (${moveItems.claim} is null or ${moveItems.claimedAt} < ${now - LEASE_MS}))`;
    const [item] = await this.services.db
      .update(moveItems)
      .set({ state: "copying", claim, claimedAt: new Date(now), attempts: sql`${moveItems.attempts} + 1` })
      .where(
        and(
          eq(moveItems.jobId, this.job.id),
          sql`${moveItems.fileId} = (select file_id from ${moveItems} where job_id = ${this.job.id} and (${due})
            order by next_attempt_at limit 1)`,
          sql`exists (select 1 from ${moveJobs} where ${moveJobs.id} = ${this.job.id} and ${moveJobs.state} = 'running' and ${moveJobs.runnerClaim} = ${this.claim})`,
        ),
      )
      .returning();
    if (item) this.claims.add(claim);
    return item ?? null;
  }

  private async move(item: ItemRow, targetPolicy: PolicyRow): Promise<Settled> {
    const claim = item.claim!;
    const [file] = await this.services.db.select().from(files).where(eq(files.id, item.fileId));
    if (!file) return this.finish(item, "skipped", "file_purged", "The file was purged before it moved.");
    if (file.policyId === targetPolicy.id || !(await this.inSource(file))) {
      return this.finish(item, "skipped", "moved_elsewhere", "The file is no longer stored with the source.");
    }
    const target = await targetFacts(this.services, targetPolicy);
    const problem = target.problems[0];
    if (problem) {
      this.stalled = true;
      return this.wait(
        item,
        new AppError("storage_unavailable", `The target cannot take files now (${problem}).`),
      );
    }
    if (target.maxFileBytes !== null && file.size > target.maxFileBytes) {
      return this.finish(
        item,
        "failed",
        "over_target_limit",
        `The file is larger than the target takes (${target.maxFileBytes} bytes).`,
      );
    }
    // The copy's key is chosen once per item and kept across its attempts (every write to it is
    // atomic and verified); a pinned ingress target that changed since leaves the old copy to delete.
    let destKey = item.destKey ?? copyKey(file.id);
    if (item.destKey && item.destLocation !== target.location) {
      await discardCopy(
        this.services,
        targetPolicy.id,
        item.destKey,
        item.destLocation,
        ABANDONED_COPY_GRACE_MS,
      );
      destKey = copyKey(file.id);
    }
    await this.services.db
      .update(moveItems)
      .set({ destKey, destLocation: target.location, ...(destKey !== item.destKey ? { pullId: null } : {}) })
      .where(this.mine(item.fileId, claim));
    try {
      const { policy: sourcePolicy, pullable: sourcePullable } = await this.sourceOf(file);
      const [source, targetDriver] = await Promise.all([
        driverForPolicy(this.services, sourcePolicy, { location: file.location }),
        driverForPolicy(this.services, targetPolicy, { location: target.location }),
      ]);
      const outcome = await copyFile({
        services: this.services,
        file,
        sourcePolicy,
        source,
        target: targetDriver,
        targetPulls: target.pulls,
        sourcePullable,
        destKey,
        pullId: destKey === item.destKey ? item.pullId : null,
        recordPull: async (pullId) => {
          await this.services.db.update(moveItems).set({ pullId }).where(this.mine(item.fileId, claim));
        },
        progress: async (bytes) => {
          await this.services.db
            .update(moveItems)
            .set({ copiedBytes: bytes })
            .where(this.mine(item.fileId, claim));
        },
        deadline: this.deadline,
        sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      });
      if (outcome.kind === "parked") {
        // The target is still pulling: the next run takes the item over and goes on polling.
        await this.services.db.update(moveItems).set({ claim: null }).where(this.mine(item.fileId, claim));
        return "other";
      }
      await this.options.hooks?.beforeSwitch?.(file.id);
      const switched = await switchToCopy(this.services, {
        jobId: this.job.id,
        claim,
        file,
        targetPolicyId: targetPolicy.id,
        destKey,
        destLocation: outcome.location ?? target.location,
        path: outcome.path,
      });
      if (switched) return "moved";
      return this.notSwitched(item, file, targetPolicy.id, destKey, target.location);
    } catch (error) {
      return this.failed(item, targetPolicy.id, error);
    }
  }

  /** Whether the file is still stored with one of the source's policies (not moved by another job). */
  private async inSource(file: FileRow): Promise<boolean> {
    const where = await selectionCondition(this.services, this.source(), { kind: "all", id: null });
    const [row] = await this.services.db
      .select({ id: files.id })
      .from(files)
      .where(and(eq(files.id, file.id), where));
    return row !== undefined;
  }

  private source(): MoveSource {
    return this.job.sourceKind === "policy"
      ? { kind: "policy", policyId: this.job.sourcePolicyId ?? "" }
      : { kind: "node", nodeId: this.job.sourceNodeId ?? "" };
  }

  private async sourceOf(file: FileRow): Promise<{ policy: PolicyRow; pullable: boolean }> {
    let found = this.policies.get(file.policyId);
    if (!found) {
      found = loadTargetPolicy(this.services, file.policyId).then(async (policy) => {
        if (!policy)
          throw new AppError("internal", "Internal error.", { cause: new Error("file lost its policy") });
        return { policy, pullable: await sourcePullable(this.services, policy) };
      });
      this.policies.set(file.policyId, found);
    }
    return found;
  }

  /**
   * The file changed while its copy was made. Purged: skipped. Moved by something else: skipped.
   * Trashed, restored or replaced, or this runner lost the item: copied again later from what it is
   * now. The copy that was not switched goes.
   */
  private async notSwitched(
    item: ItemRow,
    before: FileRow,
    targetPolicyId: string,
    destKey: string,
    destLocation: string | null,
  ): Promise<Settled> {
    const claim = item.claim!;
    const [now] = await this.services.db.select().from(files).where(eq(files.id, before.id));
    const [mine] = await this.services.db
      .select({ claim: moveItems.claim })
      .from(moveItems)
      .where(this.mine(before.id, claim));
    if (!mine) {
      // Cancelled, or taken over after this runner's lease lapsed: the other holder has its own copy.
      await discardCopy(this.services, targetPolicyId, destKey, destLocation, ABANDONED_COPY_GRACE_MS);
      return "other";
    }
    await discardCopy(this.services, targetPolicyId, destKey, destLocation);
    if (!now)
      return this.finish(item, "skipped", "file_purged", "The file was purged while it was copied.", true);
    if (!(await this.inSource(now))) {
      return this.finish(item, "skipped", "moved_elsewhere", "The file was moved elsewhere meanwhile.", true);
    }
    await this.services.db
      .update(moveItems)
      .set({
        state: "pending",
        claim: null,
        destKey: null,
        pullId: null,
        copiedBytes: 0,
        nextAttemptAt: this.services.now(),
        lastError: "changed_during_copy",
        lastMessage:
          "The file changed (trashed, restored or replaced) while it was copied; it is copied again.",
      })
      .where(this.mine(before.id, claim));
    return "other";
  }

  private async failed(item: ItemRow, targetPolicyId: string, error: unknown): Promise<Settled> {
    const code = error instanceof AppError ? error.code : "internal";
    const waits =
      WAIT_CODES.has(code) ||
      (code === "storage_rejected" && isConfigRefusal(error)) ||
      (!FINAL_CODES.has(code) && item.attempts < MAX_UNEXPLAINED_ATTEMPTS);
    if (waits) {
      if (WAIT_CODES.has(code)) this.stalled = true;
      return this.wait(item, error);
    }
    const [current] = await this.services.db
      .select({ destKey: moveItems.destKey, destLocation: moveItems.destLocation })
      .from(moveItems)
      .where(this.mine(item.fileId, item.claim!));
    if (current?.destKey)
      await discardCopy(this.services, targetPolicyId, current.destKey, current.destLocation);
    const message = error instanceof AppError ? error.message : "Internal error.";
    if (code === "internal") {
      this.services.log.error("move of a file failed", { job_id: this.job.id, error: describeError(error) });
    }
    return this.finish(item, "failed", code, message, true);
  }

  private async wait(item: ItemRow, error: unknown): Promise<Settled> {
    const code = error instanceof AppError ? error.code : "internal";
    const message = error instanceof AppError ? error.message : "Internal error.";
    this.services.log.warn("move of a file waits", { job_id: this.job.id, file_id: item.fileId, code });
    await this.services.db
      .update(moveItems)
      .set({
        state: "pending",
        claim: null,
        nextAttemptAt: new Date(this.services.now().getTime() + backoffMs(item.attempts)),
        lastError: code,
        lastMessage: message,
      })
      .where(this.mine(item.fileId, item.claim!));
    return "waiting";
  }

  private async finish(
    item: ItemRow,
    state: "skipped" | "failed",
    code: string,
    message: string,
    copyHandled = false,
  ): Promise<Settled> {
    if (!copyHandled && item.destKey && this.job.targetPolicyId) {
      await discardCopy(
        this.services,
        this.job.targetPolicyId,
        item.destKey,
        item.destLocation,
        ABANDONED_COPY_GRACE_MS,
      );
    }
    await this.services.db
      .update(moveItems)
      .set({
        state,
        claim: null,
        destKey: null,
        pullId: null,
        lastError: code,
        lastMessage: message,
        finishedAt: this.services.now(),
      })
      .where(this.mine(item.fileId, item.claim!));
    return state === "failed" ? "failed" : "other";
  }

  private mine(fileId: string, claim: string) {
    return and(eq(moveItems.jobId, this.job.id), eq(moveItems.fileId, fileId), eq(moveItems.claim, claim));
  }

  private async unfinished(): Promise<{ total: number; due: number }> {
    const now = this.services.now().getTime();
    const [row] = await this.services.db
      .select({
        total: sql<number>`count(*)`,
        due: sql<number>`coalesce(sum(case when ${moveItems.state} = 'pending' and ${moveItems.nextAttemptAt} <= ${now} then 1 else 0 end), 0)`,
      })
      .from(moveItems)
      .where(and(eq(moveItems.jobId, this.job.id), inArray(moveItems.state, ["pending", "copying"])));
    return { total: Number(row?.total ?? 0), due: Number(row?.due ?? 0) };
  }

  /** Adds the source's files not yet in the job (those in another job's unfinished items stay out). */
  private async sweep(): Promise<number> {
    const scope: MoveScopeRef = { kind: this.job.scopeKind, id: this.job.scopeId };
    const where = await selectionCondition(this.services, this.source(), scope).catch(() => null);
    if (!where) return 0;
    const now = this.services.now().getTime();
    const result = await this.services.db.run(sql`insert or ignore into ${moveItems}
        (job_id, file_id, size, state, next_attempt_at)
        select ${this.job.id}, ${files.id}, ${files.size}, 'pending', ${now} from ${files}
        where ${where} and not exists (select 1 from ${moveItems} mine
          where mine.job_id = ${this.job.id} and mine.file_id = ${files.id})`);
    return result.rowsAffected;
  }

  private async complete(): Promise<void> {
    const now = this.services.now();
    await this.services.db
      .update(moveJobs)
      .set({
        state: "completed",
        runMs: sql`${moveJobs.runMs} + case when ${moveJobs.runningSince} is null then 0 else ${now.getTime()} - ${moveJobs.runningSince} end`,
        runningSince: null,
        finishedAt: now,
        updatedAt: now,
      })
      .where(
        and(
          eq(moveJobs.id, this.job.id),
          eq(moveJobs.state, "running"),
          eq(moveJobs.runnerClaim, this.claim),
        ),
      );
    this.services.log.info("move job completed", { job_id: this.job.id });
  }

  private async heartbeat(): Promise<void> {
    const now = this.services.now();
    try {
      await this.services.db
        .update(moveJobs)
        .set({ runnerUntil: new Date(now.getTime() + LEASE_MS) })
        .where(and(eq(moveJobs.id, this.job.id), eq(moveJobs.runnerClaim, this.claim)));
      if (this.claims.size > 0) {
        await this.services.db
          .update(moveItems)
          .set({ claimedAt: now })
          .where(and(eq(moveItems.jobId, this.job.id), inArray(moveItems.claim, [...this.claims])));
      }
    } catch (error) {
      this.services.log.warn("move lease could not be renewed", {
        job_id: this.job.id,
        error: describeError(error),
      });
    }
  }

  async release(): Promise<void> {
    clearInterval(this.timer);
    await this.services.db
      .update(moveJobs)
      .set({ runnerClaim: null, runnerUntil: null })
      .where(and(eq(moveJobs.id, this.job.id), eq(moveJobs.runnerClaim, this.claim)))
      .catch((error: unknown) => {
        this.services.log.warn("move lease could not be released", {
          job_id: this.job.id,
          error: describeError(error),
        });
      });
  }
}

/** S3 refusals of the store's configuration (credentials, bucket), which an admin fixes. */
function isConfigRefusal(error: unknown): boolean {
  const s3Code = (error as AppError).details as { s3_code?: unknown } | undefined;
  return (
    typeof s3Code?.s3_code === "string" &&
    ["AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "NoSuchBucket", "ExpiredToken"].includes(
      s3Code.s3_code,
    )
  );
}
