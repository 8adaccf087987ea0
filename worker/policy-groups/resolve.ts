// Owns policy resolution: which storage policy an upload of `size` bytes uses. Personal space uses the
// user's group, team space the team's group (null binding: the default group). Rules are tried by
// priority; the first whose size range matches and whose policy can take the file wins. Remote rules
// whose follower node is disabled are skipped, and so is a policy being emptied by a move job (the
// policy itself, or its node being drained) until that job ends or is cancelled. Nothing matching is
// a clear `no_matching_policy`.
import { asc, eq, sql } from "drizzle-orm";
import { AppError } from "../../shared/errors.ts";
import type { Db } from "../db/client.ts";
import {
  followerNodes,
  moveJobs,
  policyGroupRules,
  policyGroups,
  storagePolicies,
  teams,
  users,
} from "../db/schema.ts";
import { sizeMatches } from "./rules.ts";

export type ResolveSubject = { space: "personal"; userId: string } | { space: "team"; teamId: string };

export interface SkippedRule {
  rule_id: string;
  priority: number;
  reason: "size_out_of_range" | "over_policy_size_limit" | "node_disabled" | "node_missing" | "draining";
}

export interface Resolution {
  group: typeof policyGroups.$inferSelect;
  rule: typeof policyGroupRules.$inferSelect;
  policy: typeof storagePolicies.$inferSelect;
  skipped: SkippedRule[];
}

async function boundGroupId(db: Db, subject: ResolveSubject): Promise<string | null> {
  if (subject.space === "personal") {
    const [user] = await db
      .select({ groupId: users.policyGroupId })
      .from(users)
      .where(eq(users.id, subject.userId));
    if (!user) throw new AppError("not_found", "No such user.");
    return user.groupId;
  }
  const [team] = await db
    .select({ groupId: teams.policyGroupId })
    .from(teams)
    .where(eq(teams.id, subject.teamId));
  if (!team) throw new AppError("not_found", "No such team.");
  return team.groupId;
}

/** A move job emptying the whole policy or its node (a narrowed one leaves the policy in use). */
const draining = sql<number>`exists (select 1 from ${moveJobs} where ${moveJobs.state} in ('running', 'paused')
  and ${moveJobs.scopeKind} = 'all'
  and (${moveJobs.sourcePolicyId} = ${storagePolicies.id} or ${moveJobs.sourceNodeId} = ${storagePolicies.nodeId}))`;

export async function resolvePolicy(db: Db, subject: ResolveSubject & { size: number }): Promise<Resolution> {
  const groupId = await boundGroupId(db, subject);
  const [group] = await db
    .select()
    .from(policyGroups)
    .where(groupId === null ? eq(policyGroups.isDefault, true) : eq(policyGroups.id, groupId));
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
  const rows = await db
    .select({ rule: policyGroupRules, policy: storagePolicies, node: followerNodes, draining })
    .from(policyGroupRules)
    .innerJoin(storagePolicies, eq(storagePolicies.id, policyGroupRules.policyId))
    .leftJoin(followerNodes, eq(followerNodes.id, storagePolicies.nodeId))
    .where(eq(policyGroupRules.groupId, group.id))
    .orderBy(asc(policyGroupRules.priority));
  const skipped: SkippedRule[] = [];
  for (const { rule, policy, node, draining: beingEmptied } of rows) {
    const skip = (reason: SkippedRule["reason"]) =>
      skipped.push({ rule_id: rule.id, priority: rule.priority, reason });
    if (!sizeMatches(rule, subject.size)) skip("size_out_of_range");
    else if (policy.maxFileSize > 0 && subject.size > policy.maxFileSize) skip("over_policy_size_limit");
    else if (policy.driver === "remote" && !node) skip("node_missing");
    else if (policy.driver === "remote" && node && !node.enabled) skip("node_disabled");
    else if (Number(beingEmptied) === 1) skip("draining");
    else return { group, rule, policy, skipped };
  }
  throw new AppError(
    "no_matching_policy",
    `No storage policy in group "${group.name}" accepts a file of ${subject.size} bytes.`,
    {
      details: { policy_group_id: group.id, size: subject.size, skipped },
    },
  );
}
