// Owns Admin -> Policy Groups: groups, enable/disable, and the single default group (new users get it;
// it cannot be unset, disabled or deleted). Rules and the resolution preview live in their own modules.
import {
  createGroupBody,
  policyGroupListSchema,
  policyGroupSchema,
  updateGroupBody,
} from "../../api/policy-groups.ts";
import { idParams } from "../../api/wire.ts";
import { defineRoute } from "../../http/route.ts";
import {
  createGroup,
  deleteGroup,
  findGroup,
  loadGroup,
  loadGroups,
  updateGroup,
} from "../../policy-groups/groups.ts";
import { policyGroupRuleRoutes } from "./policy-group-rules.ts";
import { policyResolutionRoutes } from "./policy-resolution.ts";

const groupRoutes = [
  defineRoute({
    method: "GET",
    path: "/api/v1/admin/policy-groups",
    access: "admin",
    summary: "List policy groups with their rules",
    tag: "policy-groups",
    response: policyGroupListSchema,
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
    handler: async ({ services, body }) =>
      loadGroup(services.db, await createGroup(services.db, body, services.now())),
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
      const group = await findGroup(services.db, params.id);
      await updateGroup(services.db, group, body, services.now());
      return loadGroup(services.db, group.id);
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
      await deleteGroup(services.db, await findGroup(services.db, params.id));
    },
  }),
];

export const policyGroupRoutes = [...groupRoutes, ...policyGroupRuleRoutes, ...policyResolutionRoutes];
