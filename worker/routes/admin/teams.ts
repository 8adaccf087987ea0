// Owns Admin -> Teams: teams, their members, and the team policy group that team space uploads
// resolve through (not the uploading member's own group).
import { and, asc, count, eq } from "drizzle-orm";
import { z } from "zod";
import { randomId } from "../../../shared/crypto.ts";
import { assertGroupExists, defaultGroupId, findUser } from "../../accounts/users.ts";
import type { Db } from "../../db/client.ts";
import { TEAM_ROLES, teamMembers, teams, users } from "../../db/schema.ts";
import { defineRoute } from "../../http/route.ts";
import { idParams, iso, nameSchema, notFound, timestamp, uniqueOr } from "../common.ts";

const memberSchema = z.object({
  user_id: z.string(),
  username: z.string(),
  display_name: z.string(),
  role: z.enum(TEAM_ROLES),
  added_at: timestamp,
});

const teamSchema = z.object({
  id: z.string(),
  name: z.string(),
  policy_group_id: z.string().nullable(),
  member_count: z.number().int(),
  created_at: timestamp,
  updated_at: timestamp,
});
const teamDetailSchema = teamSchema.extend({ members: z.array(memberSchema) });

const createTeamBody = z.object({
  name: nameSchema,
  /** Omitted: the current default group. null: always follow the default group. */
  policy_group_id: z.string().nullable().optional(),
});
const updateTeamBody = z.object({ name: nameSchema, policy_group_id: z.string().nullable() }).partial();
const memberParams = z.object({ id: z.string().min(1), user_id: z.string().min(1) });
const memberBody = z.object({ role: z.enum(TEAM_ROLES).default("member") });

const nameTaken = (name: string) => `A team named "${name}" already exists.`;

async function findTeam(db: Db, id: string) {
  const [row] = await db.select().from(teams).where(eq(teams.id, id));
  if (!row) throw notFound("team");
  return row;
}

async function teamDetail(db: Db, id: string): Promise<z.infer<typeof teamDetailSchema>> {
  const team = await findTeam(db, id);
  const members = await db
    .select({ member: teamMembers, user: users })
    .from(teamMembers)
    .innerJoin(users, eq(users.id, teamMembers.userId))
    .where(eq(teamMembers.teamId, id))
    .orderBy(asc(users.username));
  return {
    id: team.id,
    name: team.name,
    policy_group_id: team.policyGroupId,
    member_count: members.length,
    created_at: iso(team.createdAt),
    updated_at: iso(team.updatedAt),
    members: members.map(({ member, user }) => ({
      user_id: user.id,
      username: user.username,
      display_name: user.displayName,
      role: member.role,
      added_at: iso(member.createdAt),
    })),
  };
}

export const teamRoutes = [
  defineRoute({
    method: "GET",
    path: "/api/v1/admin/teams",
    access: "admin",
    summary: "List teams",
    tag: "teams",
    response: z.object({ teams: z.array(teamSchema) }),
    handler: async ({ services }) => {
      const { db } = services;
      const [rows, counts] = await db.batch([
        db.select().from(teams).orderBy(asc(teams.name)),
        db.select({ teamId: teamMembers.teamId, n: count() }).from(teamMembers).groupBy(teamMembers.teamId),
      ]);
      return {
        teams: rows.map((team) => ({
          id: team.id,
          name: team.name,
          policy_group_id: team.policyGroupId,
          member_count: counts.find((c) => c.teamId === team.id)?.n ?? 0,
          created_at: iso(team.createdAt),
          updated_at: iso(team.updatedAt),
        })),
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
