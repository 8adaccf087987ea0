// Owns Admin -> Policy Groups: groups, enable/disable, and the single default group (new users get it;
// it cannot be unset, disabled or deleted). Rules and the resolution preview live in their own modules.
import { count, eq, ne } from "drizzle-orm";
import { randomId } from "../../../shared/crypto.ts";
import { AppError } from "../../../shared/errors.ts";
import {
  createGroupBody,
  policyGroupListSchema,
  policyGroupSchema,
  updateGroupBody,
} from "../../api/policy-groups.ts";
import { idParams } from "../../api/wire.ts";
import { uniqueOr } from "../../db/constraints.ts";
import { policyGroups, teams, users } from "../../db/schema.ts";
import { defineRoute } from "../../http/route.ts";
import {
  findGroup,
  loadGroup,
  loadGroups,
  replaceRulesStatements,
  validateRuleSet,
} from "../../policy-groups/groups.ts";
import { policyGroupRuleRoutes } from "./policy-group-rules.ts";
import { policyResolutionRoutes } from "./policy-resolution.ts";

const nameTaken = (name: string) => `A policy group named "${name}" already exists.`;
const defaultRequired = (message: string) => new AppError("policy_group_default_required", message);

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
];

export const policyGroupRoutes = [...groupRoutes, ...policyGroupRuleRoutes, ...policyResolutionRoutes];
