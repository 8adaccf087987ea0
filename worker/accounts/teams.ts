// Owns team records as the API shows them: a team with its policy group binding and its members.
import { asc, eq } from "drizzle-orm";
import { z } from "zod";
import { notFound } from "../../shared/errors.ts";
import { iso, timestamp } from "../api/wire.ts";
import type { Db } from "../db/client.ts";
import { TEAM_ROLES, teamMembers, teams, users } from "../db/schema.ts";

export const memberSchema = z.object({
  user_id: z.string(),
  username: z.string(),
  display_name: z.string(),
  role: z.enum(TEAM_ROLES),
  added_at: timestamp,
});

export const teamSchema = z.object({
  id: z.string(),
  name: z.string(),
  policy_group_id: z.string().nullable(),
  member_count: z.number().int(),
  created_at: timestamp,
  updated_at: timestamp,
});
export const teamDetailSchema = teamSchema.extend({ members: z.array(memberSchema) });

export async function findTeam(db: Db, id: string) {
  const [row] = await db.select().from(teams).where(eq(teams.id, id));
  if (!row) throw notFound("team");
  return row;
}

export async function teamDetail(db: Db, id: string): Promise<z.infer<typeof teamDetailSchema>> {
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
