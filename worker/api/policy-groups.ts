// Owns the wire shape of policy groups: a group with its ordered size rules and binding counts, the
// bodies for groups and rules, and the resolution preview (which policy an upload would use).
import { z } from "zod";
import type { policyGroupRules, policyGroups, storagePolicies } from "../db/schema.ts";
import { idRef, iso, nameSchema, timestamp } from "./wire.ts";

export const ruleInputSchema = z.object({
  policy_id: idRef,
  priority: z.number().int().positive().describe("Rules are tried in ascending priority; unique in a group"),
  /** Inclusive lower bound in bytes. */
  min_size: z
    .number()
    .int()
    .nonnegative()
    .default(0)
    .describe(
      "Inclusive lower bound in bytes: the rule matches sizes >= min_size (the range is [min_size, max_size)).",
    ),
  /** Exclusive upper bound in bytes; 0 = no upper bound. */
  max_size: z
    .number()
    .int()
    .nonnegative()
    .default(0)
    .describe(
      "Exclusive upper bound in bytes: the rule matches sizes < max_size; 0 = no upper bound. A rule that should follow on starts at this rule's max_size, or a size is left unmatched.",
    ),
});
export type RuleInput = z.infer<typeof ruleInputSchema>;

export const ruleSchema = ruleInputSchema
  .extend({ id: z.string(), policy_name: z.string() })
  .meta({ id: "PolicyGroupRule" });

type RuleRow = typeof policyGroupRules.$inferSelect;

/** A stored rule in the input shape (what a rule-set check compares), with its id. */
export function ruleFields(rule: RuleRow): RuleInput & { id: string } {
  return {
    id: rule.id,
    policy_id: rule.policyId,
    priority: rule.priority,
    min_size: rule.minSize,
    max_size: rule.maxSize,
  };
}

export function toRuleOut(rule: RuleRow, policyName: string): z.infer<typeof ruleSchema> {
  return { ...ruleFields(rule), policy_name: policyName };
}

export const groupWarningSchema = z
  .object({
    code: z.enum(["sizes_uncovered"]),
    message: z.string(),
    /** The sizes no usable rule matches, each [min_size, max_size) (max_size 0 = unbounded). */
    ranges: z.array(z.object({ min_size: z.number().int(), max_size: z.number().int() })),
  })
  .meta({ id: "PolicyGroupWarning" });
export type GroupWarning = z.infer<typeof groupWarningSchema>;

export const policyGroupSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    description: z.string(),
    enabled: z.boolean(),
    /** The group new users get, and the one users/teams without a binding resolve through. */
    is_default: z.boolean(),
    rules: z.array(ruleSchema),
    /** What the group's rules leave to chance; saved anyway (a warning, not a refusal). */
    warnings: z.array(groupWarningSchema),
    user_count: z.number().int(),
    team_count: z.number().int(),
    created_at: timestamp,
    updated_at: timestamp,
  })
  .meta({ id: "PolicyGroup" });
export type PolicyGroupOut = z.infer<typeof policyGroupSchema>;

export const policyGroupListSchema = z.object({ policy_groups: z.array(policyGroupSchema) });

export function toPolicyGroupOut(
  group: typeof policyGroups.$inferSelect,
  rules: z.infer<typeof ruleSchema>[],
  counts: { users: number; teams: number },
  warnings: GroupWarning[],
): PolicyGroupOut {
  return {
    id: group.id,
    name: group.name,
    description: group.description,
    enabled: group.enabled,
    is_default: group.isDefault,
    rules,
    warnings,
    user_count: counts.users,
    team_count: counts.teams,
    created_at: iso(group.createdAt),
    updated_at: iso(group.updatedAt),
  };
}

export const createGroupBody = z.object({
  name: nameSchema,
  description: z.string().trim().max(500).default(""),
  enabled: z.boolean().default(true),
  is_default: z.boolean().default(false),
  rules: z.array(ruleInputSchema).max(100).default([]),
});

export type CreateGroupBody = z.infer<typeof createGroupBody>;

export const updateGroupBody = z
  .object({
    name: nameSchema,
    description: z.string().trim().max(500),
    enabled: z.boolean(),
    is_default: z.boolean(),
  })
  .partial();

export type UpdateGroupBody = z.infer<typeof updateGroupBody>;

export const ruleParams = z.object({ id: idRef, rule_id: idRef });
export const replaceRulesBody = z.object({ rules: z.array(ruleInputSchema).max(100) });
export const addRuleBody = ruleInputSchema.extend({ priority: z.number().int().positive().optional() });
export type AddRuleBody = z.infer<typeof addRuleBody>;
export const updateRuleBody = ruleInputSchema.partial();
export type UpdateRuleBody = z.infer<typeof updateRuleBody>;

export const resolutionQuery = z
  .object({
    space: z.enum(["personal", "team"]).default("personal"),
    user_id: idRef.optional(),
    team_id: idRef.optional(),
    size: z.coerce.number().int().nonnegative(),
  })
  .refine((q) => (q.space === "personal" ? q.user_id : q.team_id) !== undefined, {
    message: "personal space needs user_id; team space needs team_id",
    path: ["space"],
  });

export const resolutionSchema = z
  .object({
    policy_group: z.object({ id: z.string(), name: z.string() }),
    rule: ruleSchema.omit({ policy_name: true }),
    policy: z.object({
      id: z.string(),
      name: z.string(),
      driver: z.string(),
      node_id: z.string().nullable(),
    }),
    skipped: z.array(z.object({ rule_id: z.string(), priority: z.number(), reason: z.string() })),
  })
  .meta({ id: "PolicyResolution" });

export function toResolutionOut(resolution: {
  group: typeof policyGroups.$inferSelect;
  rule: RuleRow;
  policy: typeof storagePolicies.$inferSelect;
  skipped: z.infer<typeof resolutionSchema>["skipped"];
}): z.infer<typeof resolutionSchema> {
  const { group, rule, policy, skipped } = resolution;
  return {
    policy_group: { id: group.id, name: group.name },
    rule: ruleFields(rule),
    policy: { id: policy.id, name: policy.name, driver: policy.driver, node_id: policy.nodeId },
    skipped,
  };
}
