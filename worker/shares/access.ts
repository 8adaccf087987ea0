// Owns what an anonymous visitor of a share link may do: the token is looked up by its hash; revoked,
// expired and exhausted links answer distinct codes; a password-protected link needs an unlock token
// (HMAC-signed, short-lived, bound to the link) obtained with the password, guessing rate limited like
// login; a folder link confines every request to its subtree; each download is counted atomically.
import { and, eq, isNull, lt, or, sql } from "drizzle-orm";
import { hmacSha256, timingSafeEqual, toBase64Url } from "../../shared/crypto.ts";
import { AppError } from "../../shared/errors.ts";
import { readCookie } from "../accounts/auth.ts";
import { burnPasswordCheck, verifyPassword } from "../accounts/passwords.ts";
import { claimLoginAttempt, clientAddress, loginSucceeded } from "../accounts/rate-limit.ts";
import { shareState } from "../api/shares.ts";
import { files, folders, shares } from "../db/schema.ts";
import type { FileRow, FolderRow } from "../files/records.ts";
import type { Space } from "../files/spaces.ts";
import { folderPath } from "../files/tree.ts";
import type { Services } from "../services.ts";
import { hashShareToken, type ShareRow } from "./links.ts";

export const UNLOCK_TTL_MS = 3600 * 1000;
export const UNLOCK_COOKIE = "flotilla_share";
export const UNLOCK_HEADER = "x-share-unlock";

export interface OpenShare {
  share: ShareRow;
  space: Space;
  file: FileRow | null;
  folder: FolderRow | null;
}

const gone = () => new AppError("share_not_found", "This share link does not exist.");

/** Finds a usable link by token; refuses revoked, expired, exhausted links and vanished targets. */
export async function openShare(services: Services, token: string): Promise<OpenShare> {
  const [share] = await services.db
    .select()
    .from(shares)
    .where(eq(shares.tokenHash, await hashShareToken(token)));
  if (!share) throw gone();
  const state = shareState(share, services.now());
  if (state === "revoked") throw new AppError("share_revoked", "This share link was revoked by its owner.");
  if (state === "expired") throw new AppError("share_expired", "This share link has expired.");
  if (state === "exhausted")
    throw new AppError("share_exhausted", "This share link has reached its download limit.");
  const space: Space = { kind: share.spaceKind, id: share.spaceId };
  if (share.fileId) {
    const [file] = await services.db
      .select()
      .from(files)
      .where(and(eq(files.id, share.fileId), isNull(files.trashedAt)));
    if (!file) throw gone();
    return { share, space, file, folder: null };
  }
  const [folder] = await services.db
    .select()
    .from(folders)
    .where(and(eq(folders.id, share.folderId ?? ""), isNull(folders.trashedAt)));
  if (!folder) throw gone();
  return { share, space, file: null, folder };
}

function unlockKey(services: Services): string {
  return `share-unlock:${services.env.FLOTILLA_SECRET}`;
}

async function unlockMac(services: Services, share: ShareRow, expiresMs: number): Promise<string> {
  const mac = await hmacSha256(unlockKey(services), `${share.id}.${expiresMs}.${share.passwordHash ?? ""}`);
  return toBase64Url(mac);
}

export async function issueUnlockToken(
  services: Services,
  share: ShareRow,
): Promise<{ token: string; expiresAt: Date }> {
  const expiresMs = services.now().getTime() + UNLOCK_TTL_MS;
  return {
    token: `${expiresMs}.${await unlockMac(services, share, expiresMs)}`,
    expiresAt: new Date(expiresMs),
  };
}

async function validUnlock(services: Services, share: ShareRow, token: string | null): Promise<boolean> {
  if (!token) return false;
  const [expiresText, mac] = token.split(".");
  const expiresMs = Number(expiresText);
  if (!mac || !Number.isSafeInteger(expiresMs) || expiresMs <= services.now().getTime()) return false;
  return timingSafeEqual(mac, await unlockMac(services, share, expiresMs));
}

export async function isUnlocked(services: Services, share: ShareRow, request: Request): Promise<boolean> {
  if (share.passwordHash === null) return true;
  const url = new URL(request.url);
  const candidates = [
    request.headers.get(UNLOCK_HEADER),
    url.searchParams.get("unlock"),
    readCookie(request, UNLOCK_COOKIE),
  ];
  for (const candidate of candidates) if (await validUnlock(services, share, candidate)) return true;
  return false;
}

export async function requireUnlocked(services: Services, share: ShareRow, request: Request): Promise<void> {
  if (!(await isUnlocked(services, share, request))) {
    throw new AppError("share_locked", "This share link is protected by a password; unlock it first.");
  }
}

/** Checks the password (rate limited per link and address); returns an unlock token. */
export async function unlockShare(
  services: Services,
  share: ShareRow,
  password: string,
  request: Request,
): Promise<{ token: string; expiresAt: Date }> {
  const now = services.now();
  const keys = [
    { key: `share:${share.id}|ip:${clientAddress(request, services.env)}`, limit: 5 },
    { key: `share:${share.id}`, limit: 50 },
  ];
  await claimLoginAttempt(services.db, keys, now);
  if (share.passwordHash === null) {
    await burnPasswordCheck(password);
  } else if (!(await verifyPassword(password, share.passwordHash))) {
    throw new AppError("share_password_invalid", "The password is not correct.");
  }
  await loginSucceeded(services.db, keys);
  return issueUnlockToken(services, share);
}

export function unlockCookie(token: string, shareToken: string, expiresAt: Date): string {
  return `${UNLOCK_COOKIE}=${token}; Path=/api/v1/public/shares/${encodeURIComponent(shareToken)}; HttpOnly; Secure; SameSite=Lax; Expires=${expiresAt.toUTCString()}`;
}

/** Counts one download, refusing atomically once the limit is reached. */
export async function countDownload(services: Services, share: ShareRow): Promise<void> {
  const [row] = await services.db
    .update(shares)
    .set({ downloadCount: sql`${shares.downloadCount} + 1` })
    .where(
      and(
        eq(shares.id, share.id),
        isNull(shares.revokedAt),
        or(isNull(shares.maxDownloads), lt(shares.downloadCount, shares.maxDownloads)),
      ),
    )
    .returning({ id: shares.id });
  if (!row) throw new AppError("share_exhausted", "This share link has reached its download limit.");
}

/** A live folder inside the shared folder (the shared folder itself included), or 404. */
export async function folderInShare(
  services: Services,
  open: OpenShare,
  folderId: string,
): Promise<FolderRow> {
  const root = open.folder;
  if (!root) throw gone();
  const [folder] = await services.db
    .select()
    .from(folders)
    .where(
      and(
        eq(folders.id, folderId),
        eq(folders.spaceKind, open.space.kind),
        eq(folders.spaceId, open.space.id),
        isNull(folders.trashedAt),
      ),
    );
  if (!folder) throw new AppError("not_found", "No such folder in this share.");
  const path = await folderPath(services, open.space, folder.id);
  if (!path.some((step) => step.id === root.id))
    throw new AppError("not_found", "No such folder in this share.");
  return folder;
}

/** A live file inside the shared folder's subtree, or 404. */
export async function fileInShare(services: Services, open: OpenShare, fileId: string): Promise<FileRow> {
  const [file] = await services.db
    .select()
    .from(files)
    .where(
      and(
        eq(files.id, fileId),
        eq(files.spaceKind, open.space.kind),
        eq(files.spaceId, open.space.id),
        isNull(files.trashedAt),
      ),
    );
  if (!file?.folderId) throw new AppError("not_found", "No such file in this share.");
  await folderInShare(services, open, file.folderId).catch(() => {
    throw new AppError("not_found", "No such file in this share.");
  });
  return file;
}
