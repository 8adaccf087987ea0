// Owns paged listings: a folder's live children (folders first, then files, each by name then id) and
// the trash (the items the user deleted, newest first). Cursors are opaque keyset positions.
import { and, asc, desc, eq, gt, isNotNull, lt, or } from "drizzle-orm";
import { z } from "zod";
import { fromBase64Url, toBase64Url } from "../../shared/crypto.ts";
import { AppError } from "../../shared/errors.ts";
import {
  type FileOut,
  type FileOutRow,
  type FolderOut,
  type FolderOutRow,
  type PageOut,
  toFileOut,
  toFolderOut,
} from "../api/files.ts";
import { files, folders } from "../db/schema.ts";
import type { Services } from "../services.ts";
import { liveFilesIn, liveFoldersIn } from "./names.ts";
import type { Space, SpaceRef } from "./spaces.ts";

// A page reads only the columns its items' wire form shows: fewer values for libSQL to send and for
// the client to decode (both were the larger part of a listing's time in a profile).
const fileColumns = {
  id: files.id,
  name: files.name,
  folderId: files.folderId,
  size: files.size,
  sha256: files.sha256,
  contentType: files.contentType,
  policyId: files.policyId,
  createdAt: files.createdAt,
  updatedAt: files.updatedAt,
  trashedAt: files.trashedAt,
} satisfies { [K in keyof FileOutRow]: (typeof files)[K] };
const folderColumns = {
  id: folders.id,
  name: folders.name,
  parentId: folders.parentId,
  createdAt: folders.createdAt,
  updatedAt: folders.updatedAt,
  trashedAt: folders.trashedAt,
} satisfies { [K in keyof FolderOutRow]: (typeof folders)[K] };

/** What a folder listing is ordered by: folders always come first, then files, each in this order. */
export const LISTING_SORTS = ["name", "size", "modified"] as const;
export type ListingSort = (typeof LISTING_SORTS)[number];
export interface ListingOrder {
  sort: ListingSort;
  order: "asc" | "desc";
}
export const BY_NAME: ListingOrder = { sort: "name", order: "asc" };

/**
 * Position after the last item served: kind (0 folder, 1 file), its sort key and id, and the order the
 * cursor belongs to (a cursor of one order is refused by another).
 */
const cursorSchema = z.object({
  k: z.union([z.literal(0), z.literal(1)]),
  s: z.union([z.string(), z.number()]),
  i: z.string(),
  o: z.string().optional(),
});
type Cursor = z.infer<typeof cursorSchema>;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeCursor(cursor: Cursor): string {
  return toBase64Url(encoder.encode(JSON.stringify(cursor)));
}

export function decodeCursor(text: string | undefined): Cursor | null {
  if (text === undefined || text === "") return null;
  try {
    return cursorSchema.parse(JSON.parse(decoder.decode(fromBase64Url(text))));
  } catch {
    throw new AppError("bad_request", "The cursor is not valid.");
  }
}

const orderName = (o: ListingOrder) =>
  o.sort === "name" && o.order === "asc" ? undefined : `${o.sort}.${o.order}`;

/**
 * The sort column of each table: a folder has no size, so by size folders keep their name order;
 * "modified" is the item's updated_at (its wire form in the cursor is milliseconds).
 */
function keyOf(table: "folders" | "files", o: ListingOrder) {
  if (o.sort === "modified") return table === "folders" ? folders.updatedAt : files.updatedAt;
  if (o.sort === "size" && table === "files") return files.size;
  return table === "folders" ? folders.name : files.name;
}

function keyValue(item: FolderOut | FileOut, o: ListingOrder): string | number {
  if (o.sort === "modified") return Date.parse(item.updated_at);
  if (o.sort === "size" && item.type === "file") return item.size;
  return item.name;
}

/** Keyset condition "after the cursor" for one table in the listing's order (ties broken by id). */
function after(table: "folders" | "files", o: ListingOrder, cursor: Cursor) {
  const column = keyOf(table, o);
  const id = table === "folders" ? folders.id : files.id;
  const key =
    column === folders.updatedAt || column === files.updatedAt ? new Date(Number(cursor.s)) : cursor.s;
  const beyond = o.order === "asc" || (o.sort === "size" && table === "folders") ? gt : lt;
  return or(beyond(column, key as never), and(eq(column, key as never), gt(id, cursor.i)));
}

function orderBy(table: "folders" | "files", o: ListingOrder) {
  const column = keyOf(table, o);
  const ascending = o.order === "asc" || (o.sort === "size" && table === "folders");
  return [ascending ? asc(column) : desc(column), asc(table === "folders" ? folders.id : files.id)];
}

/**
 * The two statements of one page of `parentId`'s live children (null = root) in `space`, for the caller
 * to send in one batch with whatever else it reads; `listingPage` assembles their rows. The files
 * statement always runs (it cannot wait to learn whether the folders filled the page without a second
 * round trip) and a page that starts among the files asks for no folders.
 */
export function listingStatements(
  services: Services,
  space: SpaceRef,
  parentId: string | null,
  limit: number,
  cursor: Cursor | null,
  order: ListingOrder = BY_NAME,
) {
  if (cursor && cursor.o !== orderName(order)) {
    throw new AppError("bad_request", "The cursor belongs to a listing in another order.");
  }
  const folderAfter = cursor && cursor.k === 0 ? after("folders", order, cursor) : undefined;
  const fileAfter = cursor?.k === 1 ? after("files", order, cursor) : undefined;
  return [
    services.db
      .select(folderColumns)
      .from(folders)
      .where(and(liveFoldersIn(space, parentId), folderAfter))
      .orderBy(...orderBy("folders", order))
      .limit(cursor?.k === 1 ? 0 : limit + 1),
    services.db
      .select(fileColumns)
      .from(files)
      .where(and(liveFilesIn(space, parentId), fileAfter))
      .orderBy(...orderBy("files", order))
      .limit(limit + 1),
  ] as const;
}

/** One page from the rows of listingStatements: folders first, then files, and the next cursor. */
export function listingPage(
  folderRows: FolderOutRow[],
  fileRows: FileOutRow[],
  limit: number,
  order: ListingOrder = BY_NAME,
): PageOut {
  const items: (FolderOut | FileOut)[] = folderRows.map(toFolderOut);
  items.push(...fileRows.slice(0, Math.max(0, limit + 1 - items.length)).map(toFileOut));
  const o = orderName(order);
  return page(items, limit, (last) => ({
    k: last.type === "folder" ? 0 : 1,
    s: keyValue(last, order),
    i: last.id,
    ...(o ? { o } : {}),
  }));
}

/** Live children of `parentId` (null = root) in `space`, in one round trip. */
export async function listFolder(
  services: Services,
  space: Space,
  parentId: string | null,
  limit: number,
  cursorText: string | undefined,
): Promise<PageOut> {
  const [folderRows, fileRows] = await services.db.batch(
    listingStatements(services, space, parentId, limit, decodeCursor(cursorText)),
  );
  return listingPage(folderRows, fileRows, limit);
}

function page(
  items: (FolderOut | FileOut)[],
  limit: number,
  position: (last: FolderOut | FileOut) => Cursor,
): PageOut {
  const more = items.length > limit;
  const served = items.slice(0, limit);
  const last = served[served.length - 1];
  return { items: served, next_cursor: more && last ? encodeCursor(position(last)) : null };
}

/** Items the user deleted (each the root of what went to the trash with it), newest first. */
export async function listTrash(
  services: Services,
  space: Space,
  limit: number,
  cursorText: string | undefined,
): Promise<PageOut> {
  const cursor = decodeCursor(cursorText);
  const items: (FolderOut | FileOut)[] = [];
  const at = (t: typeof folders | typeof files) =>
    cursor
      ? or(
          lt(t.trashedAt, new Date(Number(cursor.s))),
          and(eq(t.trashedAt, new Date(Number(cursor.s))), gt(t.id, cursor.i)),
        )
      : undefined;
  if (!cursor || cursor.k === 0) {
    const rows = await services.db
      .select()
      .from(folders)
      .where(
        and(
          eq(folders.spaceKind, space.kind),
          eq(folders.spaceId, space.id),
          isNotNull(folders.trashedAt),
          eq(folders.trashRootId, folders.id),
          at(folders),
        ),
      )
      .orderBy(desc(folders.trashedAt), asc(folders.id))
      .limit(limit + 1);
    items.push(...rows.map(toFolderOut));
  }
  if (items.length <= limit) {
    const rows = await services.db
      .select()
      .from(files)
      .where(
        and(
          eq(files.spaceKind, space.kind),
          eq(files.spaceId, space.id),
          isNotNull(files.trashedAt),
          eq(files.trashRootId, files.id),
          cursor?.k === 1 ? at(files) : undefined,
        ),
      )
      .orderBy(desc(files.trashedAt), asc(files.id))
      .limit(limit + 1 - items.length);
    items.push(...rows.map(toFileOut));
  }
  return page(items, limit, (last) => ({
    k: last.type === "folder" ? 0 : 1,
    s: Date.parse(last.trashed_at ?? "") || 0,
    i: last.id,
  }));
}
