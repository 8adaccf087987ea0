// Owns space addressing: `me` is the caller's personal space, a team id is that team's space for its
// members only. A team the caller cannot see answers 404 like a missing one, so ids leak nothing.
import type { SQL } from "drizzle-orm";
import { AppError } from "../../shared/errors.ts";
import type { AuthUser } from "../accounts/auth.ts";
import type { SpaceKind, TEAM_ROLES } from "../db/schema.ts";

type TeamRole = (typeof TEAM_ROLES)[number];

import type { ResolveSubject } from "../policy-groups/resolve.ts";

export interface Space {
  kind: SpaceKind;
  id: string;
  /** The caller's team role when resolved for a team space (managers may manage others' links). */
  role?: TeamRole;
}

/**
 * A space addressed before its caller is known: a personal space's id may be SQL naming the caller's
 * user id, for statements read in authentication's round trip (accounts/auth.ts authenticateWith).
 */
export type SpaceRef = { kind: "user"; id: string | SQL } | { kind: "team"; id: string };

/**
 * The space a path names (`me` or a team id) before its caller is known, `userId` being the caller's
 * id as SQL; a team's membership is checked with resolveSpace once the session is.
 */
export function spaceRefOf(space: string, userId: SQL): SpaceRef {
  return space === "me" ? { kind: "user", id: userId } : { kind: "team", id: space };
}

/** Membership is read with the session (worker/accounts/auth.ts), in this request: no query of its own. */
export function resolveSpace(user: AuthUser, space: string): Space {
  if (space === "me") return { kind: "user", id: user.id };
  const member = user.teams.find((team) => team.id === space);
  if (!member) throw new AppError("not_found", "No such space.");
  return { kind: "team", id: member.id, role: member.role };
}

/** The policy-resolution subject of a space: personal uploads use the user's group, team the team's. */
export function policySubject(space: SpaceRef): ResolveSubject {
  return space.kind === "user"
    ? { space: "personal", userId: space.id }
    : { space: "team", teamId: space.id };
}
