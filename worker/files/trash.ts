// Owns the trash: deleting moves a file, or a folder with its whole live subtree, to the trash in one
// batch; restore brings back exactly what went with it (into the original folder while that is live,
// else the root, renaming on a clash); purge and empty drop the records and delete the objects through
// the storage that wrote them (see purge.ts); expiry purges what has been in the trash too long.
import { and, eq, inArray, isNotNull, isNull, lt, sql } from "drizzle-orm";
import { AppError, notFound } from "../../shared/errors.ts";
import { files, folders, pendingObjectDeletions } from "../db/schema.ts";
import type { Services } from "../services.ts";
import { writeUnderFreeName } from "./names.ts";
import { deletePendingObjects } from "./purge.ts";
import { type FileRow, type FolderRow, liveFile, liveFolder } from "./records.ts";
import type { Space } from "./spaces.ts";
import { subtreeFolderIdsQuery } from "./tree.ts";

export const DEFAULT_TRASH_RETENTION_DAYS = 30;

const inSpace = (space: Space, t: typeof files | typeof folders) =>
  and(eq(t.spaceKind, space.kind), eq(t.spaceId, space.id));

export async function trashFile(services: Services, space: Space, id: string): Promise<void> {
  const file = await liveFile(services, space, id);
  const now = services.now();
  await services.db
    .update(files)
    .set({ trashedAt: now, trashRootId: file.id, updatedAt: now })
    .where(and(eq(files.id, file.id), isNull(files.trashedAt)));
}

export async function trashFolder(services: Services, space: Space, id: string): Promise<void> {
  const folder = await liveFolder(services, space, id);
  const now = services.now();
  const mark = { trashedAt: now, trashRootId: folder.id };
  // The subtree is computed inside each statement of one batch, so an item created in it meanwhile
  // cannot stay live under a trashed folder.
  const subtree = () => sql`(${subtreeFolderIdsQuery(space, folder.id)})`;
  await services.db.batch([
    services.db
      .update(folders)
      .set(mark)
      .where(and(inSpace(space, folders), inArray(folders.id, subtree()), isNull(folders.trashedAt))),
    services.db
      .update(files)
      .set(mark)
      .where(and(inSpace(space, files), inArray(files.folderId, subtree()), isNull(files.trashedAt))),
  ]);
}

async function trashedRoot<T extends typeof files | typeof folders>(
  services: Services,
  space: Space,
  table: T,
  id: string,
): Promise<T["$inferSelect"]> {
  const [row] = await services.db
    .select()
    .from(table as typeof files)
    .where(
      and(eq(table.id, id), inSpace(space, table), isNotNull(table.trashedAt), eq(table.trashRootId, id)),
    );
  if (!row) throw notFound("item in the trash");
  return row as T["$inferSelect"];
}

/** Where a restored item goes: its folder while that is live, otherwise the space root. */
async function restoreTarget(
  services: Services,
  space: Space,
  parentId: string | null,
): Promise<string | null> {
  if (parentId === null) return null;
  const [parent] = await services.db
    .select({ id: folders.id })
    .from(folders)
    .where(and(eq(folders.id, parentId), inSpace(space, folders), isNull(folders.trashedAt)));
  return parent ? parent.id : null;
}

export async function restoreFile(services: Services, space: Space, id: string): Promise<FileRow> {
  const file = (await trashedRoot(services, space, files, id)) as FileRow;
  const folderId = await restoreTarget(services, space, file.folderId);
  const [row] = await writeUnderFreeName(services, space, folderId, file.name, (name) =>
    services.db
      .update(files)
      .set({ folderId, name, trashedAt: null, trashRootId: null, updatedAt: services.now() })
      .where(and(eq(files.id, file.id), eq(files.trashRootId, file.id)))
      .returning(),
  );
  if (!row) throw notFound("item in the trash");
  return row;
}

export async function restoreFolder(services: Services, space: Space, id: string): Promise<FolderRow> {
  const folder = (await trashedRoot(services, space, folders, id)) as FolderRow;
  const parentId = await restoreTarget(services, space, folder.parentId);
  const live = { trashedAt: null, trashRootId: null };
  const [updated] = await writeUnderFreeName(services, space, parentId, folder.name, (name) =>
    services.db.batch([
      services.db
        .update(folders)
        .set({ ...live, parentId, name, updatedAt: services.now() })
        .where(and(eq(folders.id, folder.id), eq(folders.trashRootId, folder.id)))
        .returning(),
      services.db
        .update(folders)
        .set(live)
        .where(and(inSpace(space, folders), eq(folders.trashRootId, folder.id))),
      services.db
        .update(files)
        .set(live)
        .where(and(inSpace(space, files), eq(files.trashRootId, folder.id))),
    ]),
  );
  const row = updated[0];
  if (!row) throw notFound("item in the trash");
  return row;
}

/**
 * Drops the given records that are still in the trash and queues their objects for deletion, in one
 * batch, then tries the deletions at once; what the storage refuses or cannot be reached for stays
 * queued for the scheduler. Every statement re-checks `trashed_at`, so an item restored between the
 * caller's read and this batch stays, with its object (a purge racing a restore lost the file).
 */
export async function purgeRecords(
  services: Services,
  fileRows: FileRow[],
  folderIds: string[],
): Promise<void> {
  const now = services.now().getTime();
  const fileIds = fileRows.map((f) => f.id);
  const statements = [];
  for (let i = 0; i < fileIds.length; i += 500) {
    const chunk = fileIds.slice(i, i + 500);
    const stillTrashed = and(inArray(files.id, chunk), isNotNull(files.trashedAt));
    // The queue row's id derives from the file's, so the deletions to try now are known up front.
    statements.push(
      services.db.run(sql`insert into ${pendingObjectDeletions}
        (id, policy_id, storage_key, location, attempts, next_attempt_at, created_at)
        select ${PENDING_PREFIX} || ${files.id}, ${files.policyId}, ${files.storageKey}, ${files.location}, 0, ${now}, ${now}
        from ${files} where ${stillTrashed}`),
      services.db.delete(files).where(stillTrashed),
    );
  }
  for (let i = 0; i < folderIds.length; i += 500) {
    const chunk = folderIds.slice(i, i + 500);
    statements.push(
      services.db.delete(folders).where(and(inArray(folders.id, chunk), isNotNull(folders.trashedAt))),
    );
  }
  const [first, ...rest] = statements;
  if (!first) return;
  await services.db.batch([first, ...rest]);
  await deletePendingObjects(
    services,
    fileIds.map((id) => `${PENDING_PREFIX}${id}`),
  );
}

/** Queue rows made by a purge are `pd_<file id>` (a file is purged once: its record goes with it). */
const PENDING_PREFIX = "pd_";

export async function purgeFile(services: Services, space: Space, id: string): Promise<void> {
  const file = (await trashedRoot(services, space, files, id)) as FileRow;
  await purgeRecords(services, [file], []);
}

export async function purgeFolder(services: Services, space: Space, id: string): Promise<void> {
  const folder = (await trashedRoot(services, space, folders, id)) as FolderRow;
  await purgeRoot(services, space, folder.id);
}

/** Purges everything that went to the trash with root `rootId` (a folder or a file id). */
async function purgeRoot(services: Services, space: Space, rootId: string): Promise<void> {
  const fileRows = await services.db
    .select()
    .from(files)
    .where(and(inSpace(space, files), eq(files.trashRootId, rootId)));
  const folderRows = await services.db
    .select({ id: folders.id })
    .from(folders)
    .where(and(inSpace(space, folders), eq(folders.trashRootId, rootId)));
  await purgeRecords(
    services,
    fileRows,
    folderRows.map((f) => f.id),
  );
}

export async function emptyTrash(
  services: Services,
  space: Space,
): Promise<{ purged_files: number; purged_folders: number }> {
  const fileRows = await services.db
    .select()
    .from(files)
    .where(and(inSpace(space, files), isNotNull(files.trashedAt)));
  const folderRows = await services.db
    .select({ id: folders.id })
    .from(folders)
    .where(and(inSpace(space, folders), isNotNull(folders.trashedAt)));
  await purgeRecords(
    services,
    fileRows,
    folderRows.map((f) => f.id),
  );
  return { purged_files: fileRows.length, purged_folders: folderRows.length };
}

/** Purges trash roots older than the retention; returns how many roots were purged. */
export async function expireTrash(services: Services, retentionDays: number, limit = 200): Promise<number> {
  if (!(retentionDays > 0)) throw new AppError("internal", "Internal error.");
  const cutoff = new Date(services.now().getTime() - retentionDays * 24 * 3600 * 1000);
  const roots = [
    ...(await services.db
      .select({ id: folders.id, spaceKind: folders.spaceKind, spaceId: folders.spaceId })
      .from(folders)
      .where(and(lt(folders.trashedAt, cutoff), eq(folders.trashRootId, folders.id)))
      .limit(limit)),
    ...(await services.db
      .select({ id: files.id, spaceKind: files.spaceKind, spaceId: files.spaceId })
      .from(files)
      .where(and(lt(files.trashedAt, cutoff), eq(files.trashRootId, files.id)))
      .limit(limit)),
  ];
  for (const root of roots) {
    await purgeRoot(services, { kind: root.spaceKind, id: root.spaceId }, root.id);
  }
  return roots.length;
}
