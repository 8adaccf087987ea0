// Owns Admin -> Policy Groups: groups with ordered size rules, enable/disable, the single default
// group, rule editing, and a resolution preview ("which policy would this upload use?").
import { and, count, eq, ne } from "drizzle-orm";
import { z } from "zod";
import { randomId } from "../../../shared/crypto.ts";
import { AppError } from "../../../shared/errors.ts";
import { policyGroupRules, policyGroups, teams, users } from "../../db/schema.ts";
import { defineRoute } from "../../http/route.ts";
import {
  currentRules,
  findGroup,
  loadGroup,
  loadGroups,
  policyGroupSchema,
  replaceRulesStatements,
  validateRuleSet,
} from "../../policy/groups.ts";
import { resolvePolicy } from "../../policy/resolve.ts";
import { ruleInputSchema, ruleSchema } from "../../policy/rules.ts";
import { idParams, nameSchema, notFound, uniqueOr } from "../common.ts";

const createGroupBody = z.object({
  name: nameSchema,
  description: z.string().trim().max(500).default(""),
  enabled: z.boolean().default(true),
  is_default: z.boolean().default(false),
  rules: z.array(ruleInputSchema).max(100).default([]),
});

const updateGroupBody = z
  .object({
    name: nameSchema,
    description: z.string().trim().max(500),
    enabled: z.boolean(),
    is_default: z.boolean(),
  })
  .partial();

const ruleParams = z.object({ id: z.string().min(1), rule_id: z.string().min(1) });
const addRuleBody = ruleInputSchema.extend({ priority: z.number().int().positive().optional() });
const updateRuleBody = ruleInputSchema.partial();

const nameTaken = (name: string) => `A policy group named "${name}" already exists.`;
const defaultRequired = (message: string) => new AppError("policy_group_default_required", message);

const resolutionQuery = z
  .object({
    space: z.enum(["personal", "team"]).default("personal"),
    user_id: z.string().optional(),
    team_id: z.string().optional(),
    size: z.coerce.number().int().nonnegative(),
  })
  .refine((q) => (q.space === "personal" ? q.user_id : q.team_id) !== undefined, {
    message: "personal space needs user_id; team space needs team_id",
    path: ["space"],
  });

const resolutionSchema = z.object({
  policy_group: z.object({ id: z.string(), name: z.string() }),
  rule: ruleSchema.omit({ policy_name: true }),
  policy: z.object({ id: z.string(), name: z.string(), driver: z.string(), node_id: z.string().nullable() }),
  skipped: z.array(z.object({ rule_id: z.string(), priority: z.number(), reason: z.string() })),
});

export const policyGroupRoutes = [
  defineRoute({
    method: "GET",
    path: "/api/v1/admin/policy-groups",
    access: "admin",
    summary: "List policy groups with their rules",
    tag: "policy-groups",
    response: z.object({ policy_groups: z.array(policyGroupSchema) }),
    handler: async ({ services }) => ({ policy_groups: await loadGroups(services.db) }),
  }),
  defineRoute({
    method: "POST",
    path: "/api/v1/admin/policy-groups",
    access: "admin",
    summary: "Create a policy group, optionally with rules and as the new default",
    tag: "policy-groups",
    body: createGroupBody,
    response: policyGroupSchema,
    status: 201,
    handler: async ({ services, body }) => {
      const { db } = services;
      if (body.is_default && !body.enabled) throw defaultRequired("The default group must be enabled.");
      await validateRuleSet(db, body.rules);
      const id = randomId();
      const now = services.now();
      const insert = db.insert(policyGroups).values({
        id,
        name: body.name,
        description: body.description,
        enabled: body.enabled,
        isDefault: false,
        createdAt: now,
        updatedAt: now,
      });
      const [, ...rules] = replaceRulesStatements(db, id, body.rules);
      const promote = body.is_default
        ? [
            db.update(policyGroups).set({ isDefault: false }).where(ne(policyGroups.id, id)),
            db.update(policyGroups).set({ isDefault: true }).where(eq(policyGroups.id, id)),
          ]
        : [];
      await uniqueOr(() => db.batch([insert, ...rules, ...promote]), "name_taken", nameTaken(body.name));
      return loadGroup(db, id);
    },
  }),
  defineRoute({
    method: "GET",
    path: "/api/v1/admin/policy-groups/:id",
    access: "admin",
    summary: "Policy group details",
    tag: "policy-groups",
    params: idParams,
    response: policyGroupSchema,
    handler: async ({ services, params }) => loadGroup(services.db, params.id),
  }),
  defineRoute({
    method: "PATCH",
    path: "/api/v1/admin/policy-groups/:id",
    access: "admin",
    summary: "Rename, describe, enable/disable, or make the default group",
    tag: "policy-groups",
    params: idParams,
    body: updateGroupBody,
    response: policyGroupSchema,
    handler: async ({ services, params, body }) => {
      const { db } = services;
      const group = await findGroup(db, params.id);
      const willBeDefault = body.is_default ?? group.isDefault;
      const willBeEnabled = body.enabled ?? group.enabled;
      if (group.isDefault && body.is_default === false) {
        throw defaultRequired("There must be a default group: make another group the default instead.");
      }
      if (willBeDefault && !willBeEnabled) throw defaultRequired("The default group cannot be disabled.");
      const changes: Partial<typeof policyGroups.$inferInsert> = { updatedAt: services.now() };
      if (body.name !== undefined) changes.name = body.name;
      if (body.description !== undefined) changes.description = body.description;
      if (body.enabled !== undefined) changes.enabled = body.enabled;
      const update = db.update(policyGroups).set(changes).where(eq(policyGroups.id, group.id));
      const promote =
        willBeDefault && !group.isDefault
          ? [
              db.update(policyGroups).set({ isDefault: false }).where(ne(policyGroups.id, group.id)),
              db.update(policyGroups).set({ isDefault: true }).where(eq(policyGroups.id, group.id)),
            ]
          : [];
      await uniqueOr(() => db.batch([update, ...promote]), "name_taken", nameTaken(body.name ?? group.name));
      return loadGroup(db, group.id);
    },
  }),
  defineRoute({
    method: "DELETE",
    path: "/api/v1/admin/policy-groups/:id",
    access: "admin",
    summary: "Delete a policy group that is neither the default nor bound to users or teams",
    tag: "policy-groups",
    params: idParams,
    handler: async ({ services, params }) => {
      const { db } = services;
      const group = await findGroup(db, params.id);
      if (group.isDefault)
        throw defaultRequired("The default group cannot be deleted; make another group the default first.");
      const [[boundUsers], [boundTeams]] = await db.batch([
        db.select({ n: count() }).from(users).where(eq(users.policyGroupId, group.id)),
        db.select({ n: count() }).from(teams).where(eq(teams.policyGroupId, group.id)),
      ]);
      const userCount = boundUsers?.n ?? 0;
      const teamCount = boundTeams?.n ?? 0;
      if (userCount + teamCount > 0) {
        throw new AppError(
          "policy_group_in_use",
          `The group is bound to ${userCount} user(s) and ${teamCount} team(s); rebind them first.`,
          { details: { users: userCount, teams: teamCount } },
        );
      }
      await db.delete(policyGroups).where(eq(policyGroups.id, group.id));
    },
  }),
  defineRoute({
    method: "PUT",
    path: "/api/v1/admin/policy-groups/:id/rules",
    access: "admin",
    summary: "Replace all rules of a group at once (reorder priorities here)",
    tag: "policy-groups",
    params: idParams,
    body: z.object({ rules: z.array(ruleInputSchema).max(100) }),
    response: policyGroupSchema,
    handler: async ({ services, params, body }) => {
      const { db } = services;
      const group = await findGroup(db, params.id);
      await validateRuleSet(db, body.rules);
      await db.batch(replaceRulesStatements(db, group.id, body.rules));
      return loadGroup(db, group.id);
    },
  }),
  defineRoute({
    method: "POST",
    path: "/api/v1/admin/policy-groups/:id/rules",
    access: "admin",
    summary: "Add a rule (priority defaults to after the last rule)",
    tag: "policy-groups",
    params: idParams,
    body: addRuleBody,
    response: policyGroupSchema,
    status: 201,
    handler: async ({ services, params, body }) => {
      const { db } = services;
      const group = await findGroup(db, params.id);
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
      return loadGroup(db, group.id);
    },
  }),
  defineRoute({
    method: "PATCH",
    path: "/api/v1/admin/policy-groups/:id/rules/:rule_id",
    access: "admin",
    summary: "Edit one rule",
    tag: "policy-groups",
    params: ruleParams,
    body: updateRuleBody,
    response: policyGroupSchema,
    handler: async ({ services, params, body }) => {
      const { db } = services;
      const group = await findGroup(db, params.id);
      const existing = await currentRules(db, group.id);
      const target = existing.find((r) => r.id === params.rule_id);
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
      return loadGroup(db, group.id);
    },
  }),
  defineRoute({
    method: "DELETE",
    path: "/api/v1/admin/policy-groups/:id/rules/:rule_id",
    access: "admin",
    summary: "Remove one rule",
    tag: "policy-groups",
    params: ruleParams,
    response: policyGroupSchema,
    handler: async ({ services, params }) => {
      const { db } = services;
      const result = await db
        .delete(policyGroupRules)
        .where(and(eq(policyGroupRules.id, params.rule_id), eq(policyGroupRules.groupId, params.id)));
      if (result.rowsAffected === 0) throw notFound("rule in this group");
      return loadGroup(db, params.id);
    },
  }),
  defineRoute({
    method: "GET",
    path: "/api/v1/admin/policy-resolution",
    access: "admin",
    summary: "Which storage policy an upload of `size` bytes by this user or team would use",
    tag: "policy-groups",
    query: resolutionQuery,
    response: resolutionSchema,
    handler: async ({ services, query }) => {
      const subject =
        query.space === "personal"
          ? { space: "personal" as const, userId: query.user_id ?? "" }
          : { space: "team" as const, teamId: query.team_id ?? "" };
      const { group, rule, policy, skipped } = await resolvePolicy(services.db, {
        ...subject,
        size: query.size,
      });
      return {
        policy_group: { id: group.id, name: group.name },
        rule: {
          id: rule.id,
          policy_id: rule.policyId,
          priority: rule.priority,
          min_size: rule.minSize,
          max_size: rule.maxSize,
        },
        policy: { id: policy.id, name: policy.name, driver: policy.driver, node_id: policy.nodeId },
        skipped,
      };
    },
  }),
];
