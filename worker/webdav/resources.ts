// Owns what a WebDAV path names: the caller's own space or one of their team spaces (membership is
// checked here; a team the caller is not in does not exist for them), and inside a space the live
// folder or file at that path, walked in one statement, or the place a new item would go.
import { asc, eq, sql } from "drizzle-orm";
import { notFound } from "../../shared/errors.ts";
import type { AuthUser } from "../accounts/auth.ts";
import { files, folders, teamMembers, teams } from "../db/schema.ts";
import { liveFilesIn, liveFoldersIn } from "../files/names.ts";
import type { FileRow, FolderRow } from "../files/records.ts";
import type { Space } from "../files/spaces.ts";
import type { Services } from "../services.ts";
import { TEAM_SPACES, teamSegment } from "./paths.ts";

/** A place under /dav/: the team-spaces collection, or a path inside a space. */
export type Location =
  | { kind: "teams"; names: string[] }
  | {
      kind: "space";
      space: Space;
      /** The names of the whole path under /dav/ (for hrefs). */
      names: string[];
      /** The names inside the space (for lookups and lock paths); empty at the space root. */
      inner: string[];
      /** The space root's display name. */
      label: string;
    };

export type SpaceLocation = Extract<Location, { kind: "space" }>;

export type Resource =
  | { type: "teams"; loc: Extract<Location, { kind: "teams" }> }
  | { type: "root"; loc: SpaceLocation }
  | { type: "folder"; loc: SpaceLocation; folder: FolderRow }
  | { type: "file"; loc: SpaceLocation; file: FileRow }
  /** Nothing there; `parentId` is where it would go (null = the space root), undefined when that is missing too. */
  | { type: "missing"; loc: Location; parentId: string | null | undefined };

export interface TeamEntry {
  id: string;
  segment: string;
}

/** The caller's teams as segments under "Team spaces/", by name. */
export async function myTeams(services: Services, user: AuthUser): Promise<TeamEntry[]> {
  const rows = await services.db
    .select({ id: teams.id, name: teams.name })
    .from(teamMembers)
    .innerJoin(teams, eq(teams.id, teamMembers.teamId))
    .where(eq(teamMembers.userId, user.id))
    .orderBy(asc(teams.name), asc(teams.id));
  const seen = new Set<string>();
  const out: TeamEntry[] = [];
  for (const row of rows) {
    const segment = teamSegment(row.name);
    // Two names that read alike after cleaning: the first (by name) is the one reachable.
    if (seen.has(segment)) continue;
    seen.add(segment);
    out.push({ id: row.id, segment });
  }
  return out;
}

export async function locate(services: Services, user: AuthUser, names: string[]): Promise<Location> {
  if (names[0] !== TEAM_SPACES) {
    return { kind: "space", space: { kind: "user", id: user.id }, names, inner: names, label: user.username };
  }
  if (names.length === 1) return { kind: "teams", names };
  const team = (await myTeams(services, user)).find((t) => t.segment === names[1]);
  if (!team) throw notFound("team space");
  return {
    kind: "space",
    space: { kind: "team", id: team.id },
    names,
    inner: names.slice(2),
    label: team.segment,
  };
}

export async function resolve(services: Services, loc: Location): Promise<Resource> {
  if (loc.kind === "teams") return { type: "teams", loc };
  if (loc.inner.length === 0) return { type: "root", loc };
  const found = await walk(services, loc.space, loc.inner);
  const n = loc.inner.length;
  if (found.depth === n && found.folderId) {
    const [folder] = await services.db.select().from(folders).where(eq(folders.id, found.folderId));
    if (folder) return { type: "folder", loc, folder };
  }
  if (found.depth === n - 1 && found.fileId) {
    const [file] = await services.db.select().from(files).where(eq(files.id, found.fileId));
    if (file) return { type: "file", loc, file };
  }
  return { type: "missing", loc, parentId: found.depth >= n - 1 ? found.folderId : undefined };
}

/**
 * Follows `inner` through the space's live folders in one recursive statement: how deep it got, the
 * deepest folder reached (null = the root), and the live file named by the last name in that folder
 * when the walk reached the parent.
 */
async function walk(
  services: Services,
  space: Space,
  inner: string[],
): Promise<{ depth: number; folderId: string | null; fileId: string | null }> {
  const n = inner.length;
  const rows = await services.db.all<{ depth: number; folder_id: string | null; file_id: string | null }>(sql`
    with recursive walk(depth, id) as (
      select 0, null
      union all
      select walk.depth + 1, f.id from walk join ${folders} f
        on f.space_kind = ${space.kind} and f.space_id = ${space.id} and f.parent_id is walk.id
        and f.trashed_at is null and f.name = json_extract(${JSON.stringify(inner)}, '$[' || walk.depth || ']')
      where walk.depth < ${n}
    ),
    deepest as (select depth, id from walk order by depth desc limit 1)
    select d.depth as depth, d.id as folder_id,
      (select fi.id from ${files} fi
        where d.depth = ${n - 1} and fi.space_kind = ${space.kind} and fi.space_id = ${space.id}
          and fi.folder_id is d.id and fi.name = ${inner[n - 1] ?? ""} and fi.trashed_at is null) as file_id
    from deepest d`);
  const row = rows[0];
  return { depth: Number(row?.depth ?? 0), folderId: row?.folder_id ?? null, fileId: row?.file_id ?? null };
}

/** The live children of a folder (null = the space root): folders, then files, each by name. */
export async function children(
  services: Services,
  space: Space,
  folderId: string | null,
): Promise<{ folders: FolderRow[]; files: FileRow[] }> {
  const [folderRows, fileRows] = await services.db.batch([
    services.db.select().from(folders).where(liveFoldersIn(space, folderId)).orderBy(asc(folders.name)),
    services.db.select().from(files).where(liveFilesIn(space, folderId)).orderBy(asc(files.name)),
  ]);
  return { folders: folderRows, files: fileRows };
}

/** The location of a child of `loc` named `name`. */
export function childLocation(loc: SpaceLocation, name: string): SpaceLocation {
  return { ...loc, names: [...loc.names, name], inner: [...loc.inner, name] };
}

/** The folder a resource is, for use as a parent (null = the space root). */
export function folderIdOf(resource: Resource): string | null | undefined {
  if (resource.type === "root") return null;
  if (resource.type === "folder") return resource.folder.id;
  return undefined;
}
