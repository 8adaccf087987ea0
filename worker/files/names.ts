// Owns item names: what a valid file or folder name is, and the " (n)" suffix used when an upload or a
// restore lands on a name that is taken. Files and folders share one namespace per parent folder.
import { and, eq, isNull, or, sql } from "drizzle-orm";
import { AppError } from "../../shared/errors.ts";
import { isUniqueViolation } from "../db/constraints.ts";
import { files, folders } from "../db/schema.ts";
import type { Services } from "../services.ts";
import type { Space, SpaceRef } from "./spaces.ts";

export const MAX_NAME_LENGTH = 255;

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is refused.
const FORBIDDEN = /[\u0000-\u001f\u007f/\\]/;

/** Trims and validates a name, or throws 400 name_invalid. */
export function cleanName(raw: string): string {
  const name = raw.normalize("NFC").trim();
  if (name.length === 0 || name.length > MAX_NAME_LENGTH || name === "." || name === "..") {
    throw new AppError("name_invalid", `A name must be 1 to ${MAX_NAME_LENGTH} characters, not "." or "..".`);
  }
  if (FORBIDDEN.test(name)) {
    throw new AppError("name_invalid", "A name cannot contain slashes or control characters.");
  }
  return name;
}

/** "report.pdf", 2 -> "report (2).pdf"; a leading dot is not an extension (".env" -> ".env (2)"). */
export function suffixedName(name: string, n: number): string {
  const dot = name.lastIndexOf(".");
  const [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ""];
  const suffix = ` (${n})`;
  return `${stem.slice(0, MAX_NAME_LENGTH - suffix.length - ext.length)}${suffix}${ext}`;
}

/** Live (not trashed) folders directly under `parentId` (null = the root) of `space`. */
export function liveFoldersIn(space: SpaceRef, parentId: string | null) {
  return and(
    eq(folders.spaceKind, space.kind),
    eq(folders.spaceId, space.id),
    parentId === null ? isNull(folders.parentId) : eq(folders.parentId, parentId),
    isNull(folders.trashedAt),
  );
}

/** Live (not trashed) files directly in `parentId` (null = the root) of `space`. */
export function liveFilesIn(space: SpaceRef, parentId: string | null) {
  return and(
    eq(files.spaceKind, space.kind),
    eq(files.spaceId, space.id),
    parentId === null ? isNull(files.folderId) : eq(files.folderId, parentId),
    isNull(files.trashedAt),
  );
}

/** True when a live file or folder of `parentId` in `space` already has `name` (optionally not `exceptId`). */
export async function nameTaken(
  services: Services,
  space: Space,
  parentId: string | null,
  name: string,
  exceptId?: string,
): Promise<boolean> {
  const [folder] = await services.db
    .select({ id: folders.id })
    .from(folders)
    .where(and(liveFoldersIn(space, parentId), eq(folders.name, name)))
    .limit(2);
  const [file] = await services.db
    .select({ id: files.id })
    .from(files)
    .where(and(liveFilesIn(space, parentId), eq(files.name, name)))
    .limit(2);
  return [folder?.id, file?.id].some((id) => id !== undefined && id !== exceptId);
}

export function nameConflict(name: string): AppError {
  return new AppError("name_conflict", `An item named "${name}" already exists in this folder.`, {
    details: { name },
  });
}

/** The first of name, "name (1)", "name (2)", ... that no live sibling uses (one query per table). */
export async function freeName(
  services: Services,
  space: Space,
  parentId: string | null,
  name: string,
): Promise<string> {
  const dot = name.lastIndexOf(".");
  const [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ""];
  const likeEscape = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`);
  const pattern = `${likeEscape(stem)} (%)${likeEscape(ext)}`;
  const matching = (column: typeof files.name | typeof folders.name) =>
    or(eq(column, name), sql`${column} like ${pattern} escape '\\'`);
  const taken = new Set<string>();
  const folderRows = await services.db
    .select({ name: folders.name })
    .from(folders)
    .where(and(liveFoldersIn(space, parentId), matching(folders.name)));
  const fileRows = await services.db
    .select({ name: files.name })
    .from(files)
    .where(and(liveFilesIn(space, parentId), matching(files.name)));
  for (const row of [...folderRows, ...fileRows]) taken.add(row.name);
  if (!taken.has(name)) return name;
  for (let n = 1; ; n++) {
    const candidate = suffixedName(name, n);
    if (!taken.has(candidate)) return candidate;
  }
}

/**
 * Writes an item under the first free form of `name` in `parentId`, picking again when a concurrent
 * writer takes that name between the choice and the write (the unique indexes and the cross-table
 * triggers refuse the write; migrations/0004).
 */
export async function writeUnderFreeName<T>(
  services: Services,
  space: Space,
  parentId: string | null,
  name: string,
  write: (name: string) => Promise<T>,
): Promise<T> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const free = await freeName(services, space, parentId, name);
    try {
      return await write(free);
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
    }
  }
  throw nameConflict(name);
}
