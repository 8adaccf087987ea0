// Owns policy resolution: which storage policy an upload of `size` bytes uses. Personal space uses the
// user's group, team space the team's group (null binding: the default group). Rules are tried by
// priority; the first whose size range matches and whose policy can take the file wins. Remote rules
// whose follower node is disabled are skipped. Nothing matching is a clear `no_matching_policy`.
import { asc, eq } from "drizzle-orm";
import { AppError } from "../../shared/errors.ts";
import type { Db } from "../db/client.ts";
import {
  followerNodes,
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
  reason: "size_out_of_range" | "over_policy_size_limit" | "node_disabled" | "node_missing";
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
    .select({ rule: policyGroupRules, policy: storagePolicies, node: followerNodes })
    .from(policyGroupRules)
    .innerJoin(storagePolicies, eq(storagePolicies.id, policyGroupRules.policyId))
    .leftJoin(followerNodes, eq(followerNodes.id, storagePolicies.nodeId))
    .where(eq(policyGroupRules.groupId, group.id))
    .orderBy(asc(policyGroupRules.priority));
  const skipped: SkippedRule[] = [];
  for (const { rule, policy, node } of rows) {
    const skip = (reason: SkippedRule["reason"]) =>
      skipped.push({ rule_id: rule.id, priority: rule.priority, reason });
    if (!sizeMatches(rule, subject.size)) skip("size_out_of_range");
    else if (policy.maxFileSize > 0 && subject.size > policy.maxFileSize) skip("over_policy_size_limit");
    else if (policy.driver === "remote" && !node) skip("node_missing");
    else if (policy.driver === "remote" && node && !node.enabled) skip("node_disabled");
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
