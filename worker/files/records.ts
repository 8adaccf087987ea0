// Owns file and folder rows: lookups confined to a space (trashed or foreign items are "not found")
// and createFileRecord, the one way a file row is made (upload sessions call it once the bytes are
// stored).
import { and, eq, exists, getTableColumns, isNull, type SQL, sql } from "drizzle-orm";
import { randomId } from "../../shared/crypto.ts";
import { AppError, notFound } from "../../shared/errors.ts";
import { isParentTrashed, isUniqueViolation } from "../db/constraints.ts";
import { files, folders } from "../db/schema.ts";
import type { Services } from "../services.ts";
import { cleanName, nameConflict, nameTaken, writeUnderFreeName } from "./names.ts";
import type { Space, SpaceRef } from "./spaces.ts";

export type FileRow = typeof files.$inferSelect;
export type FolderRow = typeof folders.$inferSelect;

const inSpace = (space: SpaceRef, table: typeof files | typeof folders) =>
  and(eq(table.spaceKind, space.kind), eq(table.spaceId, space.id));

/** A live (not trashed) file of the space, or 404. */
export async function liveFile(services: Services, space: Space, id: string): Promise<FileRow> {
  return liveFileOf(await liveFileStatement(services, space, id));
}

/** The statement behind liveFile, for a caller that batches it; liveFileOf reads its rows. */
export function liveFileStatement(services: Services, space: SpaceRef, id: string) {
  return services.db
    .select()
    .from(files)
    .where(and(eq(files.id, id), inSpace(space, files), isNull(files.trashedAt)));
}

export function liveFileOf(rows: FileRow[]): FileRow {
  const [row] = rows;
  if (!row) throw notFound("file");
  return row;
}

/** A live folder of the space, or 404. */
export async function liveFolder(services: Services, space: Space, id: string): Promise<FolderRow> {
  return liveFolderOf(await liveFolderStatement(services, space, id));
}

/** The statement behind liveFolder, for a caller that batches it; liveFolderOf reads its rows. */
export function liveFolderStatement(services: Services, space: SpaceRef, id: string) {
  return services.db
    .select()
    .from(folders)
    .where(and(eq(folders.id, id), inSpace(space, folders), isNull(folders.trashedAt)));
}

export function liveFolderOf(rows: FolderRow[]): FolderRow {
  const [row] = rows;
  if (!row) throw notFound("folder");
  return row;
}

/** Refuses a target folder that is missing, trashed or in another space (null = the root). */
export async function assertFolderWritable(
  services: Services,
  space: Space,
  folderId: string | null,
): Promise<void> {
  if (folderId !== null) await liveFolder(services, space, folderId);
}

/** Object key of a file inside its policy (the factory adds the policy's key prefix). */
export function fileStorageKey(fileId: string): string {
  return `files/${fileId}`;
}

// type/subtype with optional parameters, RFC 9110 tokens only: what a client declares is served back
// as a header later, so anything else (CR/LF, quotes, spaces) is stored as a plain byte stream.
const MEDIA_TYPE = /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+(\s*;\s*[a-z0-9!#$&^_.+-]+=[a-z0-9!#$&^_.+-]+)*$/i;

/** The declared content type if it is a well-formed media type (max 255 chars), else octet-stream. */
export function cleanContentType(declared: string | undefined): string {
  const value = declared?.trim() ?? "";
  return value.length > 0 && value.length <= 255 && MEDIA_TYPE.test(value)
    ? value.toLowerCase()
    : "application/octet-stream";
}

export interface NewFile {
  id?: string;
  space: Space;
  folderId: string | null;
  name: string;
  size: number;
  sha256: string;
  contentType?: string;
  policyId: string;
  storageKey: string;
  location: string | null;
  createdBy: string;
  /** "rename" (default): a taken name becomes "name (1).ext"; "fail": 409 name_conflict. */
  onConflict?: "rename" | "fail";
}

function assertDigest(sha256: string): void {
  if (!/^[0-9a-f]{64}$/.test(sha256)) {
    throw new AppError("internal", "Internal error.", { cause: new Error("createFileRecord: bad sha256") });
  }
}

/**
 * createFileRecord's insert as one statement for a caller's batch: the file is written only while
 * `condition` holds, its folder (if any) is live in the space and no file has its id yet, under
 * exactly its name (a taken name fails the statement, and with it the batch: the unique indexes and
 * the name triggers). No row back means nothing was written; createFileRecord then says why.
 */
export function insertFileIf(services: Services, input: NewFile & { id: string }, condition: SQL) {
  assertDigest(input.sha256);
  const now = services.now();
  const row: Record<string, unknown> = {
    ...fileValues(input, now),
    id: input.id,
    name: cleanName(input.name),
  };
  // Every column, in the table's order, as drizzle lists them in the insert (files has no generated ones).
  const values = sql.join(
    Object.entries(getTableColumns(files)).map(([key, column]) => sql.param(row[key] ?? null, column)),
    sql`, `,
  );
  const folderLive =
    input.folderId === null
      ? sql`1`
      : exists(
          services.db
            .select({ one: sql`1` })
            .from(folders)
            .where(
              and(eq(folders.id, input.folderId), inSpace(input.space, folders), isNull(folders.trashedAt)),
            ),
        );
  const idFree = sql`not exists (select 1 from ${files} where ${files.id} = ${input.id})`;
  return services.db
    .insert(files)
    .select(sql`select ${values} where ${condition} and ${folderLive} and ${idFree}`)
    .returning();
}

/** The row of a new file but its id and name. */
function fileValues(input: NewFile, now: Date) {
  return {
    spaceKind: input.space.kind,
    spaceId: input.space.id,
    folderId: input.folderId,
    size: input.size,
    sha256: input.sha256,
    contentType: cleanContentType(input.contentType),
    policyId: input.policyId,
    storageKey: input.storageKey,
    location: input.location,
    trashedAt: null,
    trashRootId: null,
    createdBy: input.createdBy,
    createdAt: now,
    updatedAt: now,
  };
}

export async function createFileRecord(services: Services, input: NewFile): Promise<FileRow> {
  const requested = cleanName(input.name);
  assertDigest(input.sha256);
  await assertFolderWritable(services, input.space, input.folderId);
  if (input.id !== undefined) {
    // Idempotent for a caller that retries with the same id (an upload completed twice).
    const [existing] = await services.db.select().from(files).where(eq(files.id, input.id));
    if (existing) return existing;
  }
  const insert = async (name: string) => {
    const [row] = await services.db
      .insert(files)
      .values({ ...fileValues(input, services.now()), id: input.id ?? randomId(), name })
      .returning();
    if (!row) throw new Error("insert returned no row");
    return row;
  };
  try {
    if ((input.onConflict ?? "rename") === "rename") {
      return await writeUnderFreeName(services, input.space, input.folderId, requested, insert);
    }
    if (await nameTaken(services, input.space, input.folderId, requested)) throw nameConflict(requested);
    return await insert(requested);
  } catch (error) {
    if (isUniqueViolation(error)) throw nameConflict(requested);
    // The folder went to the trash after the check above: as if it were missing.
    if (isParentTrashed(error)) throw notFound("folder");
    throw error;
  }
}
