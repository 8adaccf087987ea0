// Owns team records: loading a team (or not_found) and a team with its members as the API shows it.
import { asc, eq } from "drizzle-orm";
import { notFound } from "../../shared/errors.ts";
import { type TeamDetailOut, toMemberOut, toTeamOut } from "../api/teams.ts";
import type { Db } from "../db/client.ts";
import { teamMembers, teams, users } from "../db/schema.ts";

export async function findTeam(db: Db, id: string) {
  const [row] = await db.select().from(teams).where(eq(teams.id, id));
  if (!row) throw notFound("team");
  return row;
}

export async function teamDetail(db: Db, id: string): Promise<TeamDetailOut> {
  const team = await findTeam(db, id);
  const members = await db
    .select({ member: teamMembers, user: users })
    .from(teamMembers)
    .innerJoin(users, eq(users.id, teamMembers.userId))
    .where(eq(teamMembers.teamId, id))
    .orderBy(asc(users.username));
  return {
    ...toTeamOut(team, members.length),
    members: members.map(({ member, user }) => toMemberOut(member, user)),
  };
}
