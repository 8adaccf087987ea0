// Owns space addressing: `me` is the caller's personal space, a team id is that team's space for its
// members only. A team the caller cannot see answers 404 like a missing one, so ids leak nothing.
import { and, eq } from "drizzle-orm";
import { z } from "zod";
import { AppError } from "../../shared/errors.ts";
import type { AuthUser } from "../accounts/auth.ts";
import { type SpaceKind, teamMembers } from "../db/schema.ts";
import type { ResolveSubject } from "../policy/resolve.ts";
import type { Services } from "../services.ts";

export interface Space {
  kind: SpaceKind;
  id: string;
}

export const spaceParam = z.string().min(1).max(64);

export async function resolveSpace(services: Services, user: AuthUser, space: string): Promise<Space> {
  if (space === "me") return { kind: "user", id: user.id };
  const [member] = await services.db
    .select({ teamId: teamMembers.teamId })
    .from(teamMembers)
    .where(and(eq(teamMembers.teamId, space), eq(teamMembers.userId, user.id)));
  if (!member) throw new AppError("not_found", "No such space.");
  return { kind: "team", id: member.teamId };
}

/** The policy-resolution subject of a space: personal uploads use the user's group, team the team's. */
export function policySubject(space: Space): ResolveSubject {
  return space.kind === "user"
    ? { space: "personal", userId: space.id }
    : { space: "team", teamId: space.id };
}
