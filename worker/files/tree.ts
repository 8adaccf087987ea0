// Owns the folder tree of a space: breadcrumbs (root..folder), live subtrees (for trash), creating,
// renaming and moving folders (never into their own subtree) and moving or renaming files.
import { and, eq, isNull, type SQL, sql } from "drizzle-orm";
import { randomId } from "../../shared/crypto.ts";
import { AppError, notFound } from "../../shared/errors.ts";
import { isParentTrashed, isUniqueViolation } from "../db/constraints.ts";
import { files, folders } from "../db/schema.ts";
import type { Services } from "../services.ts";
import { cleanName, nameConflict, nameTaken } from "./names.ts";
import { type FileRow, type FolderRow, liveFile, liveFolder } from "./records.ts";
import type { Space, SpaceRef } from "./spaces.ts";

/** Folder ids from the root down to `folderId` (inclusive), with names; follows parent links. */
export async function folderPath(
  services: Services,
  space: Space,
  folderId: string,
): Promise<{ id: string; name: string }[]> {
  return pathOf(await folderPathStatement(services, space, folderId));
}

/** The statement behind folderPath, for a caller that batches it; pathOf reads its rows. */
export function folderPathStatement(services: Services, space: SpaceRef, folderId: string) {
  return services.db.all<{ id: string; name: string; depth: number }>(sql`
    with recursive up(id, name, parent_id, depth) as (
      select id, name, parent_id, 0 from ${folders}
        where id = ${folderId} and space_kind = ${space.kind} and space_id = ${space.id}
      union all
      select f.id, f.name, f.parent_id, up.depth + 1 from ${folders} f join up on f.id = up.parent_id
        where up.depth < 1000
    )
    select id, name, depth from up order by depth desc`);
}

export function pathOf(rows: { id: string; name: string }[]): { id: string; name: string }[] {
  return rows.map(({ id, name }) => ({ id, name }));
}

/** A subquery of the ids of `rootId` and every folder below it, for use inside one statement. */
export function subtreeFolderIdsQuery(space: Space, rootId: string): SQL {
  return sql`with recursive down(id, depth) as (
      select ${rootId}, 0
      union all
      select f.id, down.depth + 1 from ${folders} f join down on f.parent_id = down.id
        where f.space_kind = ${space.kind} and f.space_id = ${space.id} and down.depth < 1000
    )
    select id from down`;
}

async function writeName<T>(name: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (isUniqueViolation(error)) throw nameConflict(name);
    if (isParentTrashed(error)) throw notFound("folder");
    throw error;
  }
}

export async function createFolder(
  services: Services,
  space: Space,
  input: { name: string; parentId: string | null; createdBy: string },
): Promise<FolderRow> {
  const name = cleanName(input.name);
  if (input.parentId !== null) await liveFolder(services, space, input.parentId);
  if (await nameTaken(services, space, input.parentId, name)) throw nameConflict(name);
  const [row] = await writeName(name, () =>
    services.db
      .insert(folders)
      .values({
        id: randomId(),
        spaceKind: space.kind,
        spaceId: space.id,
        parentId: input.parentId,
        name,
        createdBy: input.createdBy,
        createdAt: services.now(),
        updatedAt: services.now(),
      })
      .returning(),
  );
  if (!row) throw new Error("insert returned no row");
  return row;
}

/** Renames and/or moves a folder; `parentId` undefined keeps the parent, null is the root. */
export async function updateFolder(
  services: Services,
  space: Space,
  id: string,
  change: { name?: string; parentId?: string | null },
): Promise<FolderRow> {
  const folder = await liveFolder(services, space, id);
  const name = change.name === undefined ? folder.name : cleanName(change.name);
  const parentId = change.parentId === undefined ? folder.parentId : change.parentId;
  if (parentId !== null && parentId !== folder.parentId) {
    await liveFolder(services, space, parentId);
    const above = await folderPath(services, space, parentId);
    if (above.some((f) => f.id === folder.id)) {
      throw new AppError("folder_cycle", "A folder cannot be moved into itself or one of its subfolders.");
    }
  }
  if (name === folder.name && parentId === folder.parentId) return folder;
  if (await nameTaken(services, space, parentId, name, folder.id)) throw nameConflict(name);
  const [row] = await writeName(name, () =>
    services.db
      .update(folders)
      .set({ name, parentId, updatedAt: services.now() })
      .where(and(eq(folders.id, folder.id), isNull(folders.trashedAt)))
      .returning(),
  );
  if (!row) throw new AppError("not_found", "No such folder.");
  return row;
}

/** Renames and/or moves a file; `folderId` undefined keeps the folder, null is the root. */
export async function updateFile(
  services: Services,
  space: Space,
  id: string,
  change: { name?: string; folderId?: string | null },
): Promise<FileRow> {
  const file = await liveFile(services, space, id);
  const name = change.name === undefined ? file.name : cleanName(change.name);
  const folderId = change.folderId === undefined ? file.folderId : change.folderId;
  if (folderId !== null && folderId !== file.folderId) await liveFolder(services, space, folderId);
  if (name === file.name && folderId === file.folderId) return file;
  if (await nameTaken(services, space, folderId, name, file.id)) throw nameConflict(name);
  const [row] = await writeName(name, () =>
    services.db
      .update(files)
      .set({ name, folderId, updatedAt: services.now() })
      .where(and(eq(files.id, file.id), isNull(files.trashedAt)))
      .returning(),
  );
  if (!row) throw new AppError("not_found", "No such file.");
  return row;
}
