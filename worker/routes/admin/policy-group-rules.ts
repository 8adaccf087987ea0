// Owns the rules of a policy group over the API: replace all (to reorder), add, edit, remove. Every
// change is validated as a whole set (priorities > 0 and unique, one rule per policy, max > min or 0).
import {
  addRuleBody,
  policyGroupSchema,
  replaceRulesBody,
  ruleParams,
  updateRuleBody,
} from "../../api/policy-groups.ts";
import { idParams } from "../../api/wire.ts";
import { defineRoute } from "../../http/route.ts";
import { findGroup, loadGroup } from "../../policy-groups/groups.ts";
import { addRule, removeRule, replaceRules, updateRule } from "../../policy-groups/rule-set.ts";

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
      const group = await findGroup(services.db, params.id);
      await replaceRules(services.db, group, body.rules);
      return loadGroup(services.db, group.id);
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
      const group = await findGroup(services.db, params.id);
      await addRule(services.db, group, body);
      return loadGroup(services.db, group.id);
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
      const group = await findGroup(services.db, params.id);
      await updateRule(services.db, group, params.rule_id, body);
      return loadGroup(services.db, group.id);
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
      await removeRule(services.db, params.id, params.rule_id);
      return loadGroup(services.db, params.id);
    },
  }),
];
