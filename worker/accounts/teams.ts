// Owns team records: loading a team (or not_found), a team with its members as the API shows it,
// create (bound to the default policy group of the moment unless told otherwise), rename and rebind,
// delete (memberships go with it), membership, and the teams whose spaces a user can use.
import { and, asc, count, eq } from "drizzle-orm";
import { randomId } from "../../shared/crypto.ts";
import { notFound } from "../../shared/errors.ts";
import { type TeamDetailOut, toMemberOut, toTeamOut } from "../api/teams.ts";
import type { Db } from "../db/client.ts";
import { uniqueOr } from "../db/constraints.ts";
import { type TEAM_ROLES, teamMembers, teams, users } from "../db/schema.ts";
import { assertGroupExists, defaultGroupId, findUser } from "./users.ts";

type TeamRow = typeof teams.$inferSelect;
type TeamRole = (typeof TEAM_ROLES)[number];

const nameTaken = (name: string) => `A team named "${name}" already exists.`;

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

/** Every team by name, each with its member count. */
export async function listTeams(db: Db): Promise<{ team: TeamRow; memberCount: number }[]> {
  const [rows, counts] = await db.batch([
    db.select().from(teams).orderBy(asc(teams.name)),
    db.select({ teamId: teamMembers.teamId, n: count() }).from(teamMembers).groupBy(teamMembers.teamId),
  ]);
  return rows.map((team) => ({ team, memberCount: counts.find((c) => c.teamId === team.id)?.n ?? 0 }));
}

/** `policyGroupId` omitted: the current default group; null: always follow the default group. */
export async function createTeam(
  db: Db,
  input: { name: string; policyGroupId?: string | null },
  now: Date,
): Promise<string> {
  if (typeof input.policyGroupId === "string") await assertGroupExists(db, input.policyGroupId);
  const policyGroupId = input.policyGroupId === undefined ? await defaultGroupId(db) : input.policyGroupId;
  const id = randomId();
  await uniqueOr(
    () => db.insert(teams).values({ id, name: input.name, policyGroupId, createdAt: now, updatedAt: now }),
    "name_taken",
    nameTaken(input.name),
  );
  return id;
}

export async function updateTeam(
  db: Db,
  team: TeamRow,
  input: { name?: string; policyGroupId?: string | null },
  now: Date,
): Promise<void> {
  if (typeof input.policyGroupId === "string") await assertGroupExists(db, input.policyGroupId);
  const changes: Partial<typeof teams.$inferInsert> = { updatedAt: now };
  if (input.name !== undefined) changes.name = input.name;
  if (input.policyGroupId !== undefined) changes.policyGroupId = input.policyGroupId;
  await uniqueOr(
    () => db.update(teams).set(changes).where(eq(teams.id, team.id)),
    "name_taken",
    nameTaken(input.name ?? team.name),
  );
}

export async function deleteTeam(db: Db, team: TeamRow): Promise<void> {
  await db.batch([
    db.delete(teamMembers).where(eq(teamMembers.teamId, team.id)),
    db.delete(teams).where(eq(teams.id, team.id)),
  ]);
}

/** Adds the user to the team, or changes their team role when they are a member already. */
export async function setMember(db: Db, team: TeamRow, userId: string, role: TeamRole, now: Date) {
  if (!(await findUser(db, userId))) throw notFound("user");
  await db
    .insert(teamMembers)
    .values({ teamId: team.id, userId, role, createdAt: now })
    .onConflictDoUpdate({ target: [teamMembers.teamId, teamMembers.userId], set: { role } });
}

export async function removeMember(db: Db, team: TeamRow, userId: string): Promise<void> {
  const result = await db
    .delete(teamMembers)
    .where(and(eq(teamMembers.teamId, team.id), eq(teamMembers.userId, userId)));
  if (result.rowsAffected === 0) throw notFound("member of this team");
}

/** The teams whose spaces `userId` can use, with their role in each, by name. */
export async function teamsOf(db: Db, userId: string) {
  return db
    .select({ id: teams.id, name: teams.name, role: teamMembers.role })
    .from(teamMembers)
    .innerJoin(teams, eq(teams.id, teamMembers.teamId))
    .where(eq(teamMembers.userId, userId))
    .orderBy(asc(teams.name));
}
