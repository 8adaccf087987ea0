// Owns Admin -> Teams: create, list, details, rename, delete, and the team policy group that team
// space uploads resolve through (not the uploading member's own group). Members: team-members.ts.
import { asc, count, eq } from "drizzle-orm";
import { randomId } from "../../../shared/crypto.ts";
import { findTeam, teamDetail } from "../../accounts/teams.ts";
import { assertGroupExists, defaultGroupId } from "../../accounts/users.ts";
import {
  createTeamBody,
  teamDetailSchema,
  teamListSchema,
  toTeamOut,
  updateTeamBody,
} from "../../api/teams.ts";
import { idParams } from "../../api/wire.ts";
import { uniqueOr } from "../../db/constraints.ts";
import { teamMembers, teams } from "../../db/schema.ts";
import { defineRoute } from "../../http/route.ts";
import { teamMemberRoutes } from "./team-members.ts";

const nameTaken = (name: string) => `A team named "${name}" already exists.`;

const teamCrudRoutes = [
  defineRoute({
    method: "GET",
    path: "/api/v1/admin/teams",
    access: "admin",
    summary: "List teams",
    tag: "teams",
    response: teamListSchema,
    handler: async ({ services }) => {
      const { db } = services;
      const [rows, counts] = await db.batch([
        db.select().from(teams).orderBy(asc(teams.name)),
        db.select({ teamId: teamMembers.teamId, n: count() }).from(teamMembers).groupBy(teamMembers.teamId),
      ]);
      return {
        teams: rows.map((team) => toTeamOut(team, counts.find((c) => c.teamId === team.id)?.n ?? 0)),
      };
    },
  }),
  defineRoute({
    method: "POST",
    path: "/api/v1/admin/teams",
    access: "admin",
    summary: "Create a team (bound to the current default policy group unless told otherwise)",
    tag: "teams",
    body: createTeamBody,
    response: teamDetailSchema,
    status: 201,
    handler: async ({ services, body }) => {
      const { db } = services;
      if (body.policy_group_id) await assertGroupExists(db, body.policy_group_id);
      const policyGroupId =
        body.policy_group_id === undefined ? await defaultGroupId(db) : body.policy_group_id;
      const id = randomId();
      const now = services.now();
      await uniqueOr(
        () => db.insert(teams).values({ id, name: body.name, policyGroupId, createdAt: now, updatedAt: now }),
        "name_taken",
        nameTaken(body.name),
      );
      return teamDetail(db, id);
    },
  }),
  defineRoute({
    method: "GET",
    path: "/api/v1/admin/teams/:id",
    access: "admin",
    summary: "Team details with members",
    tag: "teams",
    params: idParams,
    response: teamDetailSchema,
    handler: async ({ services, params }) => teamDetail(services.db, params.id),
  }),
  defineRoute({
    method: "PATCH",
    path: "/api/v1/admin/teams/:id",
    access: "admin",
    summary: "Rename a team or change its policy group",
    tag: "teams",
    params: idParams,
    body: updateTeamBody,
    response: teamDetailSchema,
    handler: async ({ services, params, body }) => {
      const { db } = services;
      const team = await findTeam(db, params.id);
      if (body.policy_group_id) await assertGroupExists(db, body.policy_group_id);
      const changes: Partial<typeof teams.$inferInsert> = { updatedAt: services.now() };
      if (body.name !== undefined) changes.name = body.name;
      if (body.policy_group_id !== undefined) changes.policyGroupId = body.policy_group_id;
      await uniqueOr(
        () => db.update(teams).set(changes).where(eq(teams.id, team.id)),
        "name_taken",
        nameTaken(body.name ?? team.name),
      );
      return teamDetail(db, team.id);
    },
  }),
  defineRoute({
    method: "DELETE",
    path: "/api/v1/admin/teams/:id",
    access: "admin",
    summary: "Delete a team (its memberships go with it)",
    tag: "teams",
    params: idParams,
    handler: async ({ services, params }) => {
      const team = await findTeam(services.db, params.id);
      await services.db.batch([
        services.db.delete(teamMembers).where(eq(teamMembers.teamId, team.id)),
        services.db.delete(teams).where(eq(teams.id, team.id)),
      ]);
    },
  }),
];

export const teamRoutes = [...teamCrudRoutes, ...teamMemberRoutes];
