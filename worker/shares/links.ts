// Owns share links as their owners see them: creating one for a live file or folder of a space (a
// 256-bit token shown once, stored as its SHA-256; optional password through the accounts KDF;
// expiry; download limit), listing and revoking them (own links; a team manager: all of the team).
import { and, desc, eq } from "drizzle-orm";
import { randomId, randomToken, sha256Hex } from "../../shared/crypto.ts";
import { AppError, notFound } from "../../shared/errors.ts";
import { hashPassword } from "../accounts/passwords.ts";
import { type CreateShareBody, type ShareOut, toShareOut } from "../api/shares.ts";
import { files, folders, shares } from "../db/schema.ts";
import {
  type FileRow,
  type FolderRow,
  liveFileOf,
  liveFileStatement,
  liveFolderOf,
  liveFolderStatement,
} from "../files/records.ts";
import type { Space, SpaceRef } from "../files/spaces.ts";
import type { Services } from "../services.ts";

export type ShareRow = typeof shares.$inferSelect;

export function hashShareToken(token: string): Promise<string> {
  return sha256Hex(token);
}

/** The live file or folder a new link is for, read with the caller's session (shareTargetReads). */
export type ShareTarget = FileRow | FolderRow;

/** The read of the body's file or folder in the space, batched with authentication by the route. */
export function shareTargetReads(services: Services, space: SpaceRef, input: CreateShareBody) {
  return input.file_id !== undefined
    ? [liveFileStatement(services, space, input.file_id)]
    : [liveFolderStatement(services, space, input.folder_id ?? "")];
}

/** The target from shareTargetReads' rows, or 404. */
export function shareTargetOf(input: CreateShareBody, rows: unknown[]): ShareTarget {
  return input.file_id !== undefined
    ? liveFileOf(rows[0] as FileRow[])
    : liveFolderOf(rows[0] as FolderRow[]);
}

/** Creates a link for `input`'s target, which the caller has read live in `space` (shareTargetOf). */
export async function createShare(
  services: Services,
  space: Space,
  userId: string,
  input: CreateShareBody,
): Promise<{ row: ShareRow; token: string }> {
  const now = services.now();
  const expiresAt = input.expires_at ? new Date(input.expires_at) : null;
  if (expiresAt && expiresAt.getTime() <= now.getTime()) {
    throw new AppError("bad_request", "expires_at must be in the future.");
  }
  const token = randomToken("fsh", 32);
  const [row] = await services.db
    .insert(shares)
    .values({
      id: randomId(),
      tokenHash: await hashShareToken(token),
      spaceKind: space.kind,
      spaceId: space.id,
      createdBy: userId,
      fileId: input.file_id ?? null,
      folderId: input.folder_id ?? null,
      passwordHash: input.password === undefined ? null : await hashPassword(input.password),
      expiresAt,
      maxDownloads: input.max_downloads ?? null,
      createdAt: now,
    })
    .returning();
  if (!row) throw new Error("insert returned no row");
  return { row, token };
}

/** A team manager manages every link of the team space; everyone else only the links they created. */
function ownedBy(space: Space, userId: string) {
  return space.kind === "team" && space.role === "manager" ? undefined : eq(shares.createdBy, userId);
}

export async function listShares(services: Services, space: Space, userId: string): Promise<ShareOut[]> {
  const rows = await services.db
    .select({ share: shares, file: files, folder: folders })
    .from(shares)
    .leftJoin(files, eq(files.id, shares.fileId))
    .leftJoin(folders, eq(folders.id, shares.folderId))
    .where(and(eq(shares.spaceKind, space.kind), eq(shares.spaceId, space.id), ownedBy(space, userId)))
    .orderBy(desc(shares.createdAt))
    .limit(1000);
  return rows.map(({ share, file, folder }) => toShareOut(share, file ?? folder, services.now()));
}

/** Revokes a link the caller created in this space, or any of a team space it manages (idempotent). */
export async function revokeShare(
  services: Services,
  space: Space,
  userId: string,
  id: string,
): Promise<void> {
  const [row] = await services.db
    .select()
    .from(shares)
    .where(
      and(
        eq(shares.id, id),
        eq(shares.spaceKind, space.kind),
        eq(shares.spaceId, space.id),
        ownedBy(space, userId),
      ),
    );
  if (!row) throw notFound("share");
  if (!row.revokedAt)
    await services.db.update(shares).set({ revokedAt: services.now() }).where(eq(shares.id, id));
}
