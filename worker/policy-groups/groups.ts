// Owns policy group persistence: loading groups with their rules, rule-set
// replacement (validated, atomic), and the single-default invariant.
import { asc, count, eq, inArray } from "drizzle-orm";
import { randomId } from "../../shared/crypto.ts";
import { AppError, notFound } from "../../shared/errors.ts";
import {
  type PolicyGroupOut,
  type RuleInput,
  ruleFields,
  toPolicyGroupOut,
  toRuleOut,
} from "../api/policy-groups.ts";
import type { Db } from "../db/client.ts";
import { policyGroupRules, policyGroups, storagePolicies, teams, users } from "../db/schema.ts";
import { assertValidRules } from "./rules.ts";

export async function findGroup(db: Db, id: string) {
  const [row] = await db.select().from(policyGroups).where(eq(policyGroups.id, id));
  if (!row) throw notFound("policy group");
  return row;
}

export async function loadGroups(db: Db, ids?: string[]): Promise<PolicyGroupOut[]> {
  const groups = await db
    .select()
    .from(policyGroups)
    .where(ids ? inArray(policyGroups.id, ids) : undefined)
    .orderBy(asc(policyGroups.name));
  if (groups.length === 0) return [];
  const groupIds = groups.map((g) => g.id);
  const [rules, userCounts, teamCounts] = await db.batch([
    db
      .select({ rule: policyGroupRules, policyName: storagePolicies.name })
      .from(policyGroupRules)
      .innerJoin(storagePolicies, eq(storagePolicies.id, policyGroupRules.policyId))
      .where(inArray(policyGroupRules.groupId, groupIds))
      .orderBy(asc(policyGroupRules.priority)),
    db
      .select({ groupId: users.policyGroupId, n: count() })
      .from(users)
      .where(inArray(users.policyGroupId, groupIds))
      .groupBy(users.policyGroupId),
    db
      .select({ groupId: teams.policyGroupId, n: count() })
      .from(teams)
      .where(inArray(teams.policyGroupId, groupIds))
      .groupBy(teams.policyGroupId),
  ]);
  return groups.map((group) =>
    toPolicyGroupOut(
      group,
      rules
        .filter((r) => r.rule.groupId === group.id)
        .map(({ rule, policyName }) => toRuleOut(rule, policyName)),
      {
        users: userCounts.find((c) => c.groupId === group.id)?.n ?? 0,
        teams: teamCounts.find((c) => c.groupId === group.id)?.n ?? 0,
      },
    ),
  );
}

export async function loadGroup(db: Db, id: string): Promise<PolicyGroupOut> {
  const [group] = await loadGroups(db, [id]);
  if (!group) throw notFound("policy group");
  return group;
}

export async function assertPoliciesExist(db: Db, rules: readonly RuleInput[]): Promise<void> {
  const wanted = [...new Set(rules.map((r) => r.policy_id))];
  if (wanted.length === 0) return;
  const found = await db
    .select({ id: storagePolicies.id })
    .from(storagePolicies)
    .where(inArray(storagePolicies.id, wanted));
  const missing = wanted.filter((id) => !found.some((f) => f.id === id));
  if (missing.length > 0) {
    throw new AppError("not_found", "No such storage policy.", { details: { policy_ids: missing } });
  }
}

/** Statements that replace a group's rules with `rules` (validate first; run inside a batch). */
export function replaceRulesStatements(db: Db, groupId: string, rules: readonly RuleInput[]) {
  return [
    db.delete(policyGroupRules).where(eq(policyGroupRules.groupId, groupId)),
    ...rules.map((rule) =>
      db.insert(policyGroupRules).values({
        id: randomId(),
        groupId,
        policyId: rule.policy_id,
        priority: rule.priority,
        minSize: rule.min_size,
        maxSize: rule.max_size,
      }),
    ),
  ] as const;
}

export async function validateRuleSet(db: Db, rules: readonly RuleInput[]): Promise<void> {
  assertValidRules(rules);
  await assertPoliciesExist(db, rules);
}

export async function currentRules(db: Db, groupId: string): Promise<(RuleInput & { id: string })[]> {
  const rows = await db
    .select()
    .from(policyGroupRules)
    .where(eq(policyGroupRules.groupId, groupId))
    .orderBy(asc(policyGroupRules.priority));
  return rows.map(ruleFields);
}
