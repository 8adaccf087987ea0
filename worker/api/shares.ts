// Owns the wire shape of share links: the owner's side (/api/v1/spaces/:space/shares: create, list,
// the link's derived state) and what anyone holding a link sees (/api/v1/public/shares/:token).
import { z } from "zod";
import type { shares } from "../db/schema.ts";
import { folderOutSchema, itemOutSchema, pageQuery, pathSchema, spaceParam } from "./files.ts";
import { iso, timestamp } from "./wire.ts";

type ShareRow = typeof shares.$inferSelect;

export const SHARE_STATES = ["active", "expired", "revoked", "exhausted"] as const;
export type ShareState = (typeof SHARE_STATES)[number];

/** A link's state at `now`: revoked, then expired, then out of downloads, else active. */
export function shareState(row: ShareRow, now: Date): ShareState {
  if (row.revokedAt) return "revoked";
  if (row.expiresAt && row.expiresAt.getTime() <= now.getTime()) return "expired";
  if (row.maxDownloads !== null && row.downloadCount >= row.maxDownloads) return "exhausted";
  return "active";
}

export const createShareSchema = z
  .object({
    file_id: z.string().min(1).max(64).optional(),
    folder_id: z.string().min(1).max(64).optional(),
    expires_at: z.iso.datetime({ offset: true }).nullable().optional(),
    password: z.string().min(1).max(256).optional(),
    max_downloads: z.number().int().min(1).max(1_000_000).nullable().optional(),
  })
  .refine((v) => (v.file_id === undefined) !== (v.folder_id === undefined), {
    message: "Give exactly one of file_id and folder_id.",
  });
export type CreateShareBody = z.infer<typeof createShareSchema>;

export const shareOutSchema = z
  .object({
    id: z.string(),
    target: z.object({
      type: z.enum(["file", "folder"]),
      id: z.string(),
      name: z.string(),
      trashed: z.boolean(),
    }),
    expires_at: timestamp.nullable(),
    has_password: z.boolean(),
    max_downloads: z.number().int().nullable(),
    download_count: z.number().int(),
    revoked_at: timestamp.nullable(),
    created_at: timestamp,
    state: z.enum(SHARE_STATES),
  })
  .meta({ id: "Share" });
export type ShareOut = z.infer<typeof shareOutSchema>;

export function toShareOut(
  share: ShareRow,
  target: { id: string; name: string; trashedAt: Date | null } | null,
  now: Date,
): ShareOut {
  return {
    id: share.id,
    target: {
      type: share.fileId ? "file" : "folder",
      id: share.fileId ?? share.folderId ?? "",
      name: target?.name ?? "",
      trashed: target?.trashedAt != null,
    },
    expires_at: iso(share.expiresAt),
    has_password: share.passwordHash !== null,
    max_downloads: share.maxDownloads,
    download_count: share.downloadCount,
    revoked_at: iso(share.revokedAt),
    created_at: iso(share.createdAt),
    state: shareState(share, now),
  };
}

/** A new link: the token (and the page URL holding it) are shown this once. */
export const createdShareSchema = z
  .object({ share: shareOutSchema, token: z.string(), url: z.string() })
  .meta({ id: "CreatedShare" });
export const shareListSchema = z.object({ items: z.array(shareOutSchema) });
export const shareParams = z.object({ space: spaceParam, id: z.string().min(1).max(64) });

export const tokenParams = z.object({ token: z.string().min(1).max(200) });
export const publicFileParams = z.object({
  token: z.string().min(1).max(200),
  id: z.string().min(1).max(64),
});
/** `unlock`: the unlock token, for clients that cannot keep the unlock cookie. */
export const publicDownloadQuery = z.object({
  redirect: z.enum(["true", "false"]).default("true"),
  unlock: z.string().max(500).optional(),
});

/** What a link points to; while it is locked only its kind and lock state. */
export const shareViewSchema = z
  .object({
    kind: z.enum(["file", "folder"]),
    locked: z.boolean(),
    password_required: z.boolean(),
    expires_at: timestamp.nullable().optional(),
    downloads_left: z.number().int().nullable().optional(),
    file: z
      .object({ name: z.string(), size: z.number().int(), content_type: z.string(), sha256: z.string() })
      .optional(),
    folder: z.object({ name: z.string() }).optional(),
  })
  .meta({ id: "PublicShare" });

export const unlockBody = z.object({ password: z.string().max(256) });
export const unlockSchema = z
  .object({ unlock_token: z.string(), expires_at: timestamp })
  .meta({ id: "ShareUnlock" });

export const publicListingQuery = z.object({
  folder_id: z.string().min(1).max(64).optional(),
  unlock: z.string().max(500).optional(),
  ...pageQuery,
});
export const publicListingSchema = z.object({
  folder: folderOutSchema,
  path: pathSchema,
  items: z.array(itemOutSchema),
  next_cursor: z.string().nullable(),
});
