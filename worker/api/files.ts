// Owns the wire shape of /api/v1/spaces/:space/{items,folders,files}: files and folders as the API
// shows them, paged listings with the folder's path, the bodies that create, rename and move them,
// download options, and the admin's view of where a file's object lives.
import { z } from "zod";
import { errorEnvelopeSchema } from "../../shared/errors.ts";
import { type files, type folders, POLICY_DRIVERS, SPACE_KINDS } from "../db/schema.ts";
import { iso, type RawAnswer, type RequestHeaders, timestamp } from "./wire.ts";

export const fileOutSchema = z
  .object({
    type: z.literal("file"),
    id: z.string(),
    name: z.string(),
    folder_id: z.string().nullable(),
    size: z.number().int(),
    sha256: z.string(),
    content_type: z.string(),
    policy_id: z.string(),
    created_at: timestamp,
    updated_at: timestamp,
    trashed_at: timestamp.nullable(),
  })
  .meta({ id: "File" });
export type FileOut = z.infer<typeof fileOutSchema>;

export const folderOutSchema = z
  .object({
    type: z.literal("folder"),
    id: z.string(),
    name: z.string(),
    parent_id: z.string().nullable(),
    created_at: timestamp,
    updated_at: timestamp,
    trashed_at: timestamp.nullable(),
  })
  .meta({ id: "Folder" });
export type FolderOut = z.infer<typeof folderOutSchema>;

export const itemOutSchema = z
  .discriminatedUnion("type", [folderOutSchema, fileOutSchema])
  .meta({ id: "Item" });

/** The columns a file's wire form is made of (a listing selects only these). */
export type FileOutRow = Pick<
  typeof files.$inferSelect,
  | "id"
  | "name"
  | "folderId"
  | "size"
  | "sha256"
  | "contentType"
  | "policyId"
  | "createdAt"
  | "updatedAt"
  | "trashedAt"
>;

export function toFileOut(row: FileOutRow): FileOut {
  return {
    type: "file",
    id: row.id,
    name: row.name,
    folder_id: row.folderId,
    size: row.size,
    sha256: row.sha256,
    content_type: row.contentType,
    policy_id: row.policyId,
    created_at: iso(row.createdAt),
    updated_at: iso(row.updatedAt),
    trashed_at: iso(row.trashedAt),
  };
}

/** The columns a folder's wire form is made of (a listing selects only these). */
export type FolderOutRow = Pick<
  typeof folders.$inferSelect,
  "id" | "name" | "parentId" | "createdAt" | "updatedAt" | "trashedAt"
>;

export function toFolderOut(row: FolderOutRow): FolderOut {
  return {
    type: "folder",
    id: row.id,
    name: row.name,
    parent_id: row.parentId,
    created_at: iso(row.createdAt),
    updated_at: iso(row.updatedAt),
    trashed_at: iso(row.trashedAt),
  };
}

/** `me` (the caller's personal space) or the id of a team the caller belongs to. */
export const spaceParam = z.string().min(1).max(64);
export const spaceParams = z.object({ space: spaceParam });
export const itemParams = z.object({ space: spaceParam, id: z.string().min(1).max(64) });

export const pageQuery = {
  limit: z.coerce.number().int().min(1).max(200).default(100),
  cursor: z.string().max(2000).optional(),
};

/** One page of items; `next_cursor` asks for the next one (null: this was the last). */
export const pageSchema = z
  .object({ items: z.array(itemOutSchema), next_cursor: z.string().nullable() })
  .meta({ id: "ItemPage" });
export type PageOut = z.infer<typeof pageSchema>;

const idRef = z.string().min(1).max(64);
const nameField = z.string().max(1000);

/** The folders from the root down to a folder, that folder included. */
export const pathSchema = z.array(z.object({ id: z.string(), name: z.string() }));

export const listingQuery = z.object({
  folder_id: idRef.optional(),
  /** Folders always come first (by name when sorting by size); files in this order, ties by id. */
  sort: z.enum(["name", "size", "modified"]).default("name"),
  order: z.enum(["asc", "desc"]).default("asc"),
  ...pageQuery,
});
export const listingSchema = z.object({
  folder: folderOutSchema.nullable(),
  path: pathSchema,
  items: z.array(itemOutSchema),
  next_cursor: z.string().nullable(),
});

export const folderWithPathSchema = folderOutSchema.extend({ path: pathSchema });

export const createFolderBody = z.object({ name: nameField, parent_id: idRef.nullable().optional() });
export const updateFolderBody = z.object({
  name: nameField.optional(),
  parent_id: idRef.nullable().optional(),
});
export const updateFileBody = z.object({
  name: nameField.optional(),
  folder_id: idRef.nullable().optional(),
});

const representation = {
  ETag: "Strong entity tag: the quoted SHA-256 of the whole content",
  "Repr-Digest": "sha-256 of the whole content (RFC 9530)",
  "Accept-Ranges": "bytes",
  "Last-Modified": "When the file was stored",
  "Content-Disposition": "attachment or inline, with the file's name",
  "Content-Security-Policy": "A sandbox: served bytes never run script",
};

/** A file's bytes as the download and preview routes answer them (worker/files/serve.ts). */
export function fileAnswers(options: { presigned: boolean }): RawAnswer[] {
  const answers: RawAnswer[] = [
    {
      status: 200,
      description: "The whole file (or, to HEAD, its headers only)",
      contentType: "application/octet-stream",
      headers: { ...representation, "Content-Length": "Bytes in the body" },
    },
    {
      status: 206,
      description: "The one byte range asked for with Range",
      contentType: "application/octet-stream",
      headers: {
        ...representation,
        "Content-Range": "bytes first-last/size",
        "Content-Length": "Bytes in the range",
      },
    },
    { status: 304, description: "If-None-Match matched the ETag: not modified", headers: representation },
    {
      status: 416,
      description: "The range lies outside the file (range_not_satisfiable)",
      contentType: "application/json",
      schema: errorEnvelopeSchema,
    },
  ];
  if (options.presigned) {
    answers.push(
      {
        status: 302,
        description: "Presigned policy: a redirect to a short-lived storage URL",
        headers: { Location: "The presigned URL" },
      },
      {
        status: 200,
        description: "Presigned policy with redirect=false: the URL as JSON",
        contentType: "application/json",
        schema: presignedDownloadSchema,
      },
    );
  }
  return answers;
}

/** What a download reads from the request. */
export const fileRequestHeaders: RequestHeaders = {
  Range: { description: "One byte range, bytes=first-last, bytes=first- or bytes=-suffix" },
  "If-None-Match": { description: "An ETag seen before: 304 when it still matches" },
  "If-Range": { description: "An ETag: the Range applies only while it still matches, else the whole file" },
};

export const presignedDownloadSchema = z
  .object({ url: z.url(), expires_at: timestamp })
  .meta({ id: "PresignedDownload" });

/** `redirect=false`: a presigned download answers its URL as JSON instead of a 302. */
export const downloadQuery = z.object({ redirect: z.enum(["true", "false"]).default("true") });

/** Admin: a file's record, its policy, and what a HEAD through that policy's driver found. */
export const fileStorageSchema = z
  .object({
    file: fileOutSchema.extend({
      space_kind: z.enum(SPACE_KINDS),
      space_id: z.string(),
      storage_key: z.string(),
      location: z.string().nullable(),
    }),
    policy: z.object({
      id: z.string(),
      name: z.string(),
      driver: z.enum(POLICY_DRIVERS),
      node_id: z.string().nullable(),
      key_prefix: z.string(),
    }),
    object: z.object({
      exists: z.boolean(),
      size: z.number().int().nullable(),
      sha256: z.string().nullable(),
      etag: z.string().nullable(),
    }),
    checked_at: timestamp,
  })
  .meta({ id: "FileStorage" });
