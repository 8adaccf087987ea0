// Owns the wire shape of teams: a team with its policy group binding and member count, its members,
// and the admin's bodies for teams and memberships.
import { z } from "zod";
import { TEAM_ROLES, type teamMembers, type teams, type users } from "../db/schema.ts";
import { idRef, iso, nameSchema, timestamp } from "./wire.ts";

export const memberSchema = z
  .object({
    user_id: z.string(),
    username: z.string(),
    display_name: z.string(),
    role: z.enum(TEAM_ROLES),
    added_at: timestamp,
  })
  .meta({ id: "TeamMember" });

export const teamSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    policy_group_id: z.string().nullable(),
    member_count: z.number().int(),
    created_at: timestamp,
    updated_at: timestamp,
  })
  .meta({ id: "Team" });
export const teamDetailSchema = teamSchema
  .extend({ members: z.array(memberSchema) })
  .meta({ id: "TeamDetail" });
export type TeamOut = z.infer<typeof teamSchema>;
export type TeamDetailOut = z.infer<typeof teamDetailSchema>;

export const teamListSchema = z.object({ teams: z.array(teamSchema) });

export function toTeamOut(team: typeof teams.$inferSelect, memberCount: number): TeamOut {
  return {
    id: team.id,
    name: team.name,
    policy_group_id: team.policyGroupId,
    member_count: memberCount,
    created_at: iso(team.createdAt),
    updated_at: iso(team.updatedAt),
  };
}

export function toMemberOut(
  member: typeof teamMembers.$inferSelect,
  user: typeof users.$inferSelect,
): z.infer<typeof memberSchema> {
  return {
    user_id: user.id,
    username: user.username,
    display_name: user.displayName,
    role: member.role,
    added_at: iso(member.createdAt),
  };
}

export const createTeamBody = z.object({
  name: nameSchema,
  /** Omitted: the current default group. null: always follow the default group. */
  policy_group_id: idRef.nullable().optional(),
});
export const updateTeamBody = z.object({ name: nameSchema, policy_group_id: idRef.nullable() }).partial();

export const memberParams = z.object({ id: idRef, user_id: idRef });
export const memberBody = z.object({ role: z.enum(TEAM_ROLES).default("member") });
