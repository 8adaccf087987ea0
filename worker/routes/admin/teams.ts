// Owns Admin -> Teams: create, list, details, rename, delete, and the team policy group that team
// space uploads resolve through (not the uploading member's own group). Members: team-members.ts.
import { createTeam, deleteTeam, findTeam, listTeams, teamDetail, updateTeam } from "../../accounts/teams.ts";
import {
  createTeamBody,
  teamDetailSchema,
  teamListSchema,
  toTeamOut,
  updateTeamBody,
} from "../../api/teams.ts";
import { idParams } from "../../api/wire.ts";
import { defineRoute } from "../../http/route.ts";
import { teamMemberRoutes } from "./team-members.ts";

const teamCrudRoutes = [
  defineRoute({
    method: "GET",
    path: "/api/v1/admin/teams",
    access: "admin",
    summary: "List teams",
    tag: "teams",
    response: teamListSchema,
    handler: async ({ services }) => ({
      teams: (await listTeams(services.db)).map(({ team, memberCount }) => toTeamOut(team, memberCount)),
    }),
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
      const input = { name: body.name, policyGroupId: body.policy_group_id };
      return teamDetail(services.db, await createTeam(services.db, input, services.now()));
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
      const team = await findTeam(services.db, params.id);
      const input = { name: body.name, policyGroupId: body.policy_group_id };
      await updateTeam(services.db, team, input, services.now());
      return teamDetail(services.db, team.id);
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
      await deleteTeam(services.db, await findTeam(services.db, params.id));
    },
  }),
];

export const teamRoutes = [...teamCrudRoutes, ...teamMemberRoutes];
