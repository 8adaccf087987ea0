// Owns which files a move covers: those stored with its source (one storage policy, or every remote
// policy of a follower node, which is a drain) inside its scope (everything, one user's personal
// space, one team's space, or one folder's subtree). Trashed files are included: their bytes sit on
// the source too, and they may be restored. The conditions are SQL over `files`, evaluated when used,
// so a policy added to a draining node or a file that lands late is found by the next look.
import { and, eq, inArray, type SQL, sql } from "drizzle-orm";
import { notFound } from "../../shared/errors.ts";
import type { MoveScopeRef, MoveSource } from "../api/moves.ts";
import { files, folders, storagePolicies, teams, users } from "../db/schema.ts";
import { subtreeFolderIdsQuery } from "../files/tree.ts";
import type { Services } from "../services.ts";

/** The policies whose files the source covers, as a subquery (current at each use). */
export function sourcePolicies(services: Services, source: MoveSource) {
  return source.kind === "policy"
    ? services.db
        .select({ id: storagePolicies.id })
        .from(storagePolicies)
        .where(eq(storagePolicies.id, source.policyId))
    : services.db
        .select({ id: storagePolicies.id })
        .from(storagePolicies)
        .where(and(eq(storagePolicies.nodeId, source.nodeId), eq(storagePolicies.driver, "remote")));
}

/** The condition on `files` for the scope; refuses a user, team or folder that does not exist. */
export async function scopeCondition(services: Services, scope: MoveScopeRef): Promise<SQL | undefined> {
  switch (scope.kind) {
    case "all":
      return undefined;
    case "user": {
      const [user] = await services.db
        .select({ id: users.id })
        .from(users)
        .where(eq(users.id, scope.id ?? ""));
      if (!user) throw notFound("user");
      return and(eq(files.spaceKind, "user"), eq(files.spaceId, user.id));
    }
    case "team": {
      const [team] = await services.db
        .select({ id: teams.id })
        .from(teams)
        .where(eq(teams.id, scope.id ?? ""));
      if (!team) throw notFound("team");
      return and(eq(files.spaceKind, "team"), eq(files.spaceId, team.id));
    }
    case "folder": {
      const [folder] = await services.db
        .select({ id: folders.id, spaceKind: folders.spaceKind, spaceId: folders.spaceId })
        .from(folders)
        .where(eq(folders.id, scope.id ?? ""));
      if (!folder) throw notFound("folder");
      const space = { kind: folder.spaceKind, id: folder.spaceId };
      return and(
        eq(files.spaceKind, space.kind),
        eq(files.spaceId, space.id),
        inArray(files.folderId, sql`(${subtreeFolderIdsQuery(space, folder.id)})`),
      );
    }
  }
}

/** Every file of the source inside the scope (trashed ones too). */
export async function selectionCondition(
  services: Services,
  source: MoveSource,
  scope: MoveScopeRef,
): Promise<SQL> {
  const inScope = await scopeCondition(services, scope);
  return and(inArray(files.policyId, sourcePolicies(services, source)), inScope) as SQL;
}
