// Owns paged listings: a folder's live children (folders first, then files, each by name then id) and
// the trash (the items the user deleted, newest first). Cursors are opaque keyset positions.
import { and, asc, desc, eq, gt, isNotNull, lt, or } from "drizzle-orm";
import { z } from "zod";
import { fromBase64Url, toBase64Url } from "../../shared/crypto.ts";
import { AppError } from "../../shared/errors.ts";
import { type FileOut, type FolderOut, type PageOut, toFileOut, toFolderOut } from "../api/files.ts";
import { files, folders } from "../db/schema.ts";
import type { Services } from "../services.ts";
import { liveFilesIn, liveFoldersIn } from "./names.ts";
import type { Space } from "./spaces.ts";

/** Position after the last item served: kind (0 folder, 1 file) and its sort key. */
const cursorSchema = z.object({
  k: z.union([z.literal(0), z.literal(1)]),
  s: z.union([z.string(), z.number()]),
  i: z.string(),
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

/**
 * The two statements of one page of `parentId`'s live children (null = root) in `space`, for the caller
 * to send in one batch with whatever else it reads; `listingPage` assembles their rows. The files
 * statement always runs (it cannot wait to learn whether the folders filled the page without a second
 * round trip) and a page that starts among the files asks for no folders.
 */
export function listingStatements(
  services: Services,
  space: Space,
  parentId: string | null,
  limit: number,
  cursor: Cursor | null,
) {
  const folderAfter = cursor
    ? or(
        gt(folders.name, String(cursor.s)),
        and(eq(folders.name, String(cursor.s)), gt(folders.id, cursor.i)),
      )
    : undefined;
  const fileAfter =
    cursor?.k === 1
      ? or(gt(files.name, String(cursor.s)), and(eq(files.name, String(cursor.s)), gt(files.id, cursor.i)))
      : undefined;
  return [
    services.db
      .select()
      .from(folders)
      .where(and(liveFoldersIn(space, parentId), folderAfter))
      .orderBy(asc(folders.name), asc(folders.id))
      .limit(cursor?.k === 1 ? 0 : limit + 1),
    services.db
      .select()
      .from(files)
      .where(and(liveFilesIn(space, parentId), fileAfter))
      .orderBy(asc(files.name), asc(files.id))
      .limit(limit + 1),
  ] as const;
}

/** One page from the rows of listingStatements: folders first, then files, and the next cursor. */
export function listingPage(
  folderRows: (typeof folders.$inferSelect)[],
  fileRows: (typeof files.$inferSelect)[],
  limit: number,
): PageOut {
  const items: (FolderOut | FileOut)[] = folderRows.map(toFolderOut);
  items.push(...fileRows.slice(0, Math.max(0, limit + 1 - items.length)).map(toFileOut));
  return page(items, limit, (last) => ({ k: last.type === "folder" ? 0 : 1, s: last.name, i: last.id }));
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
