// Owns team membership over the admin API: add a member or change their team role, remove a member.
import { findTeam, removeMember, setMember, teamDetail } from "../../accounts/teams.ts";
import { memberBody, memberParams, teamDetailSchema } from "../../api/teams.ts";
import { defineRoute } from "../../http/route.ts";

export const teamMemberRoutes = [
  defineRoute({
    method: "PUT",
    path: "/api/v1/admin/teams/:id/members/:user_id",
    access: "admin",
    summary: "Add a member or change their team role",
    tag: "teams",
    params: memberParams,
    body: memberBody,
    response: teamDetailSchema,
    handler: async ({ services, params, body }) => {
      const team = await findTeam(services.db, params.id);
      await setMember(services.db, team, params.user_id, body.role, services.now());
      return teamDetail(services.db, team.id);
    },
  }),
  defineRoute({
    method: "DELETE",
    path: "/api/v1/admin/teams/:id/members/:user_id",
    access: "admin",
    summary: "Remove a member",
    tag: "teams",
    params: memberParams,
    response: teamDetailSchema,
    handler: async ({ services, params }) => {
      const team = await findTeam(services.db, params.id);
      await removeMember(services.db, team, params.user_id);
      return teamDetail(services.db, team.id);
    },
  }),
];
