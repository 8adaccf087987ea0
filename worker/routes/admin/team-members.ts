// Owns team membership over the admin API: add a member or change their team role, remove a member.
import { and, eq } from "drizzle-orm";
import { notFound } from "../../../shared/errors.ts";
import { findTeam, teamDetail } from "../../accounts/teams.ts";
import { findUser } from "../../accounts/users.ts";
import { memberBody, memberParams, teamDetailSchema } from "../../api/teams.ts";
import { teamMembers } from "../../db/schema.ts";
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
      const { db } = services;
      const team = await findTeam(db, params.id);
      if (!(await findUser(db, params.user_id))) throw notFound("user");
      await db
        .insert(teamMembers)
        .values({ teamId: team.id, userId: params.user_id, role: body.role, createdAt: services.now() })
        .onConflictDoUpdate({ target: [teamMembers.teamId, teamMembers.userId], set: { role: body.role } });
      return teamDetail(db, team.id);
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
      const { db } = services;
      const team = await findTeam(db, params.id);
      const result = await db
        .delete(teamMembers)
        .where(and(eq(teamMembers.teamId, team.id), eq(teamMembers.userId, params.user_id)));
      if (result.rowsAffected === 0) throw notFound("member of this team");
      return teamDetail(db, team.id);
    },
  }),
];
