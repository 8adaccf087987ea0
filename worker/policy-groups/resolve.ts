// Owns policy resolution: which storage policy an upload of `size` bytes uses. Personal space uses the
// user's group, team space the team's group (null binding: the default group). Rules are tried by
// priority; the first whose size range matches and whose policy can take the file wins. Remote rules
// whose follower node is disabled are skipped, and so is a policy being emptied by a move job (the
// policy itself, or its node being drained) until that job ends or is cancelled. Nothing matching is
// a clear `no_matching_policy`.
import { asc, eq, type SQL, sql } from "drizzle-orm";
import { AppError } from "../../shared/errors.ts";
import type { Db } from "../db/client.ts";
import {
  followerNodes,
  ingressTargets,
  moveJobs,
  policyGroupRules,
  policyGroups,
  storagePolicies,
  teams,
  users,
} from "../db/schema.ts";
import { sizeMatches } from "./rules.ts";

/** A personal subject's user id may be SQL (read in the same batch, worker/uploads/sessions.ts initReads). */
export type ResolveSubject = { space: "personal"; userId: string | SQL } | { space: "team"; teamId: string };

export interface SkippedRule {
  rule_id: string;
  priority: number;
  reason: "size_out_of_range" | "over_policy_size_limit" | "node_disabled" | "node_missing" | "draining";
}

export interface Resolution {
  group: typeof policyGroups.$inferSelect;
  rule: typeof policyGroupRules.$inferSelect;
  policy: typeof storagePolicies.$inferSelect;
  /** A remote policy's follower node, read in the same round trip (null for other drivers). */
  node: typeof followerNodes.$inferSelect | null;
  /** The target key of that node's default ingress target, if it has one. */
  defaultTarget: string | null;
  skipped: SkippedRule[];
}

/** The subject's own row (missing: 404) and its group binding, as SQL to read inside the same batch. */
function binding(db: Db, subject: ResolveSubject) {
  if (subject.space === "personal") {
    return {
      row: db.select({ groupId: users.policyGroupId }).from(users).where(eq(users.id, subject.userId)),
      groupId: sql`(select ${users.policyGroupId} from ${users} where ${users.id} = ${subject.userId})`,
    };
  }
  return {
    row: db.select({ groupId: teams.policyGroupId }).from(teams).where(eq(teams.id, subject.teamId)),
    groupId: sql`(select ${teams.policyGroupId} from ${teams} where ${teams.id} = ${subject.teamId})`,
  };
}

/** A move job emptying the whole policy or its node (a narrowed one leaves the policy in use). */
const draining = sql<number>`exists (select 1 from ${moveJobs} where ${moveJobs.state} in ('running', 'paused')
  and ${moveJobs.scopeKind} = 'all'
  and (${moveJobs.sourcePolicyId} = ${storagePolicies.id} or ${moveJobs.sourceNodeId} = ${storagePolicies.nodeId}))`;

/** The target key of the policy's node's default ingress target. */
const defaultTarget = sql<string | null>`(select ${ingressTargets.targetKey} from ${ingressTargets}
  where ${ingressTargets.nodeId} = ${storagePolicies.nodeId} and ${ingressTargets.isDefault} = 1)`;

/**
 * Resolves in one round trip: the binding, the group it names (or the default) and its rules, with
 * each rule's policy, its node and the node's default ingress target (an upload pins that target).
 */
export async function resolvePolicy(db: Db, subject: ResolveSubject & { size: number }): Promise<Resolution> {
  const q = resolutionStatements(db, subject);
  return resolutionFrom(subject, await db.batch([q.subject, q.group, q.rules]));
}

/** The statements behind resolvePolicy, for a caller that batches them with its own. */
export function resolutionStatements(db: Db, subject: ResolveSubject) {
  const bound = binding(db, subject);
  const groupWhere = sql`(${bound.groupId} is null and ${policyGroups.isDefault} = 1) or ${policyGroups.id} = ${bound.groupId}`;
  return {
    subject: bound.row,
    group: db.select().from(policyGroups).where(groupWhere).limit(1),
    rules: db
      .select({
        rule: policyGroupRules,
        policy: storagePolicies,
        node: followerNodes,
        draining,
        defaultTarget,
      })
      .from(policyGroupRules)
      .innerJoin(storagePolicies, eq(storagePolicies.id, policyGroupRules.policyId))
      .leftJoin(followerNodes, eq(followerNodes.id, storagePolicies.nodeId))
      .where(
        eq(
          policyGroupRules.groupId,
          sql`(select ${policyGroups.id} from ${policyGroups} where ${groupWhere} limit 1)`,
        ),
      )
      .orderBy(asc(policyGroupRules.priority)),
  };
}

type Statements = ReturnType<typeof resolutionStatements>;

/** The resolution from the rows of resolutionStatements (subject, group, rules, in that order). */
export function resolutionFrom(
  subject: ResolveSubject & { size: number },
  [subjectRows, groupRows, rows]: [
    Awaited<Statements["subject"]>,
    Awaited<Statements["group"]>,
    Awaited<Statements["rules"]>,
  ],
): Resolution {
  if (subjectRows.length === 0) {
    throw new AppError("not_found", subject.space === "personal" ? "No such user." : "No such team.");
  }
  const [group] = groupRows;
  if (!group) {
    throw new AppError(
      "no_policy_group",
      `This ${subject.space === "team" ? "team" : "user"} has no policy group and there is no default group.`,
    );
  }
  if (!group.enabled) {
    throw new AppError("policy_group_disabled", `The policy group "${group.name}" is disabled.`, {
      details: { policy_group_id: group.id },
    });
  }
  const skipped: SkippedRule[] = [];
  for (const { rule, policy, node, draining: beingEmptied, defaultTarget: target } of rows) {
    const skip = (reason: SkippedRule["reason"]) =>
      skipped.push({ rule_id: rule.id, priority: rule.priority, reason });
    if (!sizeMatches(rule, subject.size)) skip("size_out_of_range");
    else if (policy.maxFileSize > 0 && subject.size > policy.maxFileSize) skip("over_policy_size_limit");
    else if (policy.driver === "remote" && !node) skip("node_missing");
    else if (policy.driver === "remote" && node && !node.enabled) skip("node_disabled");
    else if (Number(beingEmptied) === 1) skip("draining");
    else {
      const remote = policy.driver === "remote" ? node : null;
      return { group, rule, policy, node: remote, defaultTarget: remote ? target : null, skipped };
    }
  }
  throw new AppError(
    "no_matching_policy",
    `No storage policy in group "${group.name}" accepts a file of ${subject.size} bytes.`,
    {
      details: { policy_group_id: group.id, size: subject.size, skipped },
    },
  );
}
