// Owns the rule set of a policy group as stored: the current rules, replacing them all (to reorder),
// adding, editing and removing one. Every change is validated as a whole set first (rules.ts), and
// the policies it names must exist.
import { and, asc, eq, inArray } from "drizzle-orm";
import { randomId } from "../../shared/crypto.ts";
import { AppError, notFound } from "../../shared/errors.ts";
import { type AddRuleBody, type RuleInput, ruleFields, type UpdateRuleBody } from "../api/policy-groups.ts";
import type { Db } from "../db/client.ts";
import { policyGroupRules, type policyGroups, storagePolicies } from "../db/schema.ts";
import { assertValidRules } from "./rules.ts";

type GroupRow = typeof policyGroups.$inferSelect;

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

export async function replaceRules(db: Db, group: GroupRow, rules: RuleInput[]): Promise<void> {
  await validateRuleSet(db, rules);
  await db.batch(replaceRulesStatements(db, group.id, rules));
}

/** Adds a rule; its priority defaults to after the last rule. */
export async function addRule(db: Db, group: GroupRow, body: AddRuleBody): Promise<void> {
  const existing = await currentRules(db, group.id);
  const priority = body.priority ?? Math.max(0, ...existing.map((r) => r.priority)) + 1;
  const rule = { ...body, priority };
  await validateRuleSet(db, [...existing, rule]);
  await db.insert(policyGroupRules).values({
    id: randomId(),
    groupId: group.id,
    policyId: rule.policy_id,
    priority,
    minSize: rule.min_size,
    maxSize: rule.max_size,
  });
}

export async function updateRule(
  db: Db,
  group: GroupRow,
  ruleId: string,
  body: UpdateRuleBody,
): Promise<void> {
  const existing = await currentRules(db, group.id);
  const target = existing.find((r) => r.id === ruleId);
  if (!target) throw notFound("rule in this group");
  const merged = existing.map((r) => (r.id === target.id ? { ...r, ...body } : r));
  await validateRuleSet(db, merged);
  const next = merged.find((r) => r.id === target.id) ?? target;
  await db
    .update(policyGroupRules)
    .set({
      policyId: next.policy_id,
      priority: next.priority,
      minSize: next.min_size,
      maxSize: next.max_size,
    })
    .where(and(eq(policyGroupRules.id, target.id), eq(policyGroupRules.groupId, group.id)));
}

export async function removeRule(db: Db, groupId: string, ruleId: string): Promise<void> {
  const result = await db
    .delete(policyGroupRules)
    .where(and(eq(policyGroupRules.id, ruleId), eq(policyGroupRules.groupId, groupId)));
  if (result.rowsAffected === 0) throw notFound("rule in this group");
}
