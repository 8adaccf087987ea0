// Owns checking a requested move and its dry run: the source (a policy, or a node to drain) and the
// target exist and differ, the scope exists; then how many files and bytes it covers, which of them
// cannot move and why (the target cannot take files, a file over the target's limit, a file already
// moving in another job), the target's free space from its last probe against what is needed, and the
// path the bytes will take (pulled by the target itself, or relayed through the primary).
import { and, eq, gt, not, type SQL, sql } from "drizzle-orm";
import { AppError, notFound } from "../../shared/errors.ts";
import type { MovePlan, MoveRequest, MoveScopeRef, MoveSource } from "../api/moves.ts";
import { files, followerNodes, storagePolicies } from "../db/schema.ts";
import type { Services } from "../services.ts";
import type { PolicyRow } from "../storage/factory.ts";
import { selectionCondition } from "./selection.ts";
import { loadTargetPolicy, sourcePullable, type TargetFacts, targetFacts } from "./target.ts";

export interface ResolvedMove {
  source: MoveSource;
  sourceName: string;
  /** The policies the source covers now (a node's remote policies). */
  sourcePolicies: PolicyRow[];
  target: TargetFacts;
  scope: MoveScopeRef;
  /** The files of the move, as a condition on `files`. */
  where: SQL;
}

export async function resolveMove(services: Services, request: MoveRequest): Promise<ResolvedMove> {
  const targetPolicy = await loadTargetPolicy(services, request.targetPolicyId);
  if (!targetPolicy) throw notFound("target storage policy");
  let sourceName: string;
  let policies: PolicyRow[];
  if (request.source.kind === "policy") {
    const policy = await loadTargetPolicy(services, request.source.policyId);
    if (!policy) throw notFound("source storage policy");
    if (policy.id === targetPolicy.id) throw sameTarget("The target is the source policy itself.");
    sourceName = policy.name;
    policies = [policy];
  } else {
    const [node] = await services.db
      .select()
      .from(followerNodes)
      .where(eq(followerNodes.id, request.source.nodeId));
    if (!node) throw notFound("follower node");
    if (targetPolicy.nodeId === node.id) {
      throw sameTarget("The target policy stores on the node being drained.");
    }
    sourceName = node.name;
    policies = await services.db
      .select()
      .from(storagePolicies)
      .where(and(eq(storagePolicies.nodeId, node.id), eq(storagePolicies.driver, "remote")));
  }
  return {
    source: request.source,
    sourceName,
    sourcePolicies: policies,
    target: await targetFacts(services, targetPolicy),
    scope: request.scope,
    where: await selectionCondition(services, request.source, request.scope),
  };
}

function sameTarget(message: string): AppError {
  return new AppError("move_same_target", message);
}

/** A file already in an unfinished item of a job (this one's items are not written yet). */
const movingElsewhere = sql`exists (select 1 from move_items mi where mi.file_id = ${files.id} and mi.state in ('pending', 'copying'))`;

export async function planMove(services: Services, move: ResolvedMove): Promise<MovePlan> {
  const limit = move.target.maxFileBytes;
  const overLimit = limit === null ? sql`0` : sql`${files.size} > ${limit}`;
  const [totals] = await services.db
    .select({
      files: sql<number>`count(*)`,
      bytes: sql<number>`coalesce(sum(${files.size}), 0)`,
      busyFiles: sql<number>`coalesce(sum(case when ${movingElsewhere} then 1 else 0 end), 0)`,
      busyBytes: sql<number>`coalesce(sum(case when ${movingElsewhere} then ${files.size} else 0 end), 0)`,
      overFiles: sql<number>`coalesce(sum(case when not ${movingElsewhere} and ${overLimit} then 1 else 0 end), 0)`,
      overBytes: sql<number>`coalesce(sum(case when not ${movingElsewhere} and ${overLimit} then ${files.size} else 0 end), 0)`,
    })
    .from(files)
    .where(move.where);
  const t = {
    files: Number(totals?.files ?? 0),
    bytes: Number(totals?.bytes ?? 0),
    busyFiles: Number(totals?.busyFiles ?? 0),
    busyBytes: Number(totals?.busyBytes ?? 0),
    overFiles: Number(totals?.overFiles ?? 0),
    overBytes: Number(totals?.overBytes ?? 0),
  };
  const examples = (condition: SQL | undefined) =>
    services.db
      .select({ fileId: files.id, name: files.name, size: files.size })
      .from(files)
      .where(and(move.where, condition))
      .orderBy(files.name)
      .limit(5);
  const blocked: MovePlan["blocked"] = [];
  const problem = move.target.problems[0];
  if (problem) {
    if (t.files > 0)
      blocked.push({ reason: problem, files: t.files, bytes: t.bytes, examples: await examples(undefined) });
  } else {
    if (t.busyFiles > 0) {
      blocked.push({
        reason: "in_other_move",
        files: t.busyFiles,
        bytes: t.busyBytes,
        examples: await examples(movingElsewhere),
      });
    }
    if (t.overFiles > 0 && limit !== null) {
      blocked.push({
        reason: "over_target_limit",
        files: t.overFiles,
        bytes: t.overBytes,
        examples: await examples(and(not(movingElsewhere), gt(files.size, limit))),
      });
    }
  }
  const pullable = move.target.pulls
    ? await Promise.all(move.sourcePolicies.map((policy) => sourcePullable(services, policy)))
    : [false];
  const blockedFiles = blocked.reduce((n, b) => n + b.files, 0);
  const blockedBytes = blocked.reduce((n, b) => n + b.bytes, 0);
  const needed = t.bytes - blockedBytes;
  const free = move.target.freeBytes;
  return {
    files: t.files,
    bytes: t.bytes,
    movable: { files: t.files - blockedFiles, bytes: needed },
    blocked,
    space: {
      neededBytes: needed,
      freeBytes: free,
      enough: free === null ? null : free >= needed,
      probedAt: move.target.probedAt,
    },
    path: move.target.pulls && pullable.every(Boolean) ? "pull" : "relay",
  };
}
