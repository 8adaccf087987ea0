// Owns the rules of a policy group over the API: replace all (to reorder), add, edit, remove. Every
// change is validated as a whole set (priorities > 0 and unique, one rule per policy, max > min or 0).
import { and, eq } from "drizzle-orm";
import { randomId } from "../../../shared/crypto.ts";
import { notFound } from "../../../shared/errors.ts";
import {
  addRuleBody,
  policyGroupSchema,
  replaceRulesBody,
  ruleParams,
  updateRuleBody,
} from "../../api/policy-groups.ts";
import { idParams } from "../../api/wire.ts";
import { policyGroupRules } from "../../db/schema.ts";
import { defineRoute } from "../../http/route.ts";
import {
  currentRules,
  findGroup,
  loadGroup,
  replaceRulesStatements,
  validateRuleSet,
} from "../../policy-groups/groups.ts";

export const policyGroupRuleRoutes = [
  defineRoute({
    method: "PUT",
    path: "/api/v1/admin/policy-groups/:id/rules",
    access: "admin",
    summary: "Replace all rules of a group at once (reorder priorities here)",
    tag: "policy-groups",
    params: idParams,
    body: replaceRulesBody,
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
];
