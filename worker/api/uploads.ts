// Owns the wire shape of upload sessions: the init body, the session as its owner sees it (which
// parts arrived, which are missing, where to send them), relayed parts, presigned part URLs and
// completion.
import { z } from "zod";
import { SPACE_KINDS, TRANSFER_MODES, UPLOAD_STATES, type uploadSessions } from "../db/schema.ts";
import { fileOutSchema, spaceParam } from "./files.ts";
import { idParams, iso, timestamp } from "./wire.ts";

const sha256Hex = z
  .string()
  .regex(/^[0-9a-fA-F]{64}$/, "must be 64 hex digits")
  .transform((s) => s.toLowerCase());

export const initParams = z.object({ space: spaceParam });

export const initBodySchema = z.object({
  name: z.string().trim().min(1).max(255),
  size: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  folder_id: z.string().min(1).max(64).nullable().optional(),
  sha256: sha256Hex.optional(),
  content_type: z
    .string()
    .max(200)
    .regex(/^[\w.+-]+\/[\w.+-]+(\s*;[\s\w=.+"-]*)?$/, "must be a media type")
    .optional(),
  client_id: z.string().min(1).max(128).optional(),
});
export type InitBody = z.infer<typeof initBodySchema>;

export const uploadSchema = z
  .object({
    id: z.string(),
    state: z.enum(UPLOAD_STATES),
    mode: z.enum(TRANSFER_MODES),
    name: z.string(),
    size: z.number().int(),
    sha256: z.string().nullable(),
    content_type: z.string(),
    folder_id: z.string().nullable(),
    space: z.object({ kind: z.enum(SPACE_KINDS), id: z.string() }),
    client_id: z.string().nullable(),
    policy_id: z.string(),
    chunk_size: z.number().int(),
    part_count: z.number().int(),
    parts_received: z.array(z.number().int()),
    missing_parts: z.array(z.number().int()),
    /** Relay: where part n goes (replace `{n}`); null for presigned (ask /presign). */
    part_url_template: z.string().nullable(),
    file_id: z.string().nullable(),
    failure: z.object({ code: z.string(), message: z.string() }).nullable(),
    expires_at: timestamp,
    created_at: timestamp,
  })
  .meta({ id: "Upload" });
export type UploadOut = z.infer<typeof uploadSchema>;

/** The part numbers 1..partCount not in `received`, ascending. */
export function missingParts(partCount: number, received: Iterable<number>): number[] {
  const have = new Set(received);
  const missing: number[] = [];
  for (let n = 1; n <= partCount; n++) if (!have.has(n)) missing.push(n);
  return missing;
}

/** `received`: the part numbers the storage holds (a completed session has them all). */
export function toUploadOut(session: typeof uploadSessions.$inferSelect, received: number[]): UploadOut {
  const finished = session.state === "completed";
  const have = finished ? Array.from({ length: session.partCount }, (_, i) => i + 1) : received;
  return {
    id: session.id,
    state: session.state,
    mode: session.mode,
    name: session.name,
    size: session.size,
    sha256: session.declaredSha256,
    content_type: session.contentType,
    folder_id: session.folderId,
    space: { kind: session.spaceKind, id: session.spaceId },
    client_id: session.clientId,
    policy_id: session.policyId,
    chunk_size: session.chunkSize,
    part_count: session.partCount,
    parts_received: have,
    missing_parts: finished ? [] : missingParts(session.partCount, have),
    part_url_template: session.mode === "relay_stream" ? `/api/v1/uploads/${session.id}/parts/{n}` : null,
    file_id: finished ? session.fileId : null,
    failure:
      session.failureCode !== null
        ? { code: session.failureCode, message: session.failureMessage ?? "" }
        : null,
    expires_at: iso(session.expiresAt),
    created_at: iso(session.createdAt),
  };
}

export const openUploadsQuery = z.object({ client_id: z.string().min(1).max(128).optional() });
export const uploadListSchema = z.object({ items: z.array(uploadSchema) });

export const partParams = idParams.extend({ n: z.coerce.number().int() });
export const partSchema = z
  .object({
    part_number: z.number().int(),
    size: z.number().int(),
    sha256: z.string(),
  })
  .meta({ id: "UploadPart" });
export type PartOut = z.infer<typeof partSchema>;

/** At most this many part URLs per presign request. */
export const MAX_PRESIGN_BATCH = 100;

export const presignBody = z.object({
  part_numbers: z.array(z.number().int()).min(1).max(MAX_PRESIGN_BATCH),
});
export const presignedPartSchema = z
  .object({
    part_number: z.number().int(),
    url: z.string(),
    method: z.literal("PUT"),
    headers: z.record(z.string(), z.string()),
    expires_at: z.string(),
  })
  .meta({ id: "PresignedPart" });
export type PresignedPart = z.infer<typeof presignedPartSchema>;
export const presignSchema = z.object({ urls: z.array(presignedPartSchema) }).meta({ id: "PresignedParts" });

export const completeBody = z
  .object({
    /** Presigned uploads on an s3 policy only (one-part files too): each part's ETag as its PUT answered it. */
    parts: z
      .array(z.object({ part_number: z.number().int().min(1), etag: z.string().min(1).max(200) }))
      .max(10_000)
      .optional(),
  })
  .optional();
export const completedSchema = z
  .object({ upload: uploadSchema, file: fileOutSchema })
  .meta({ id: "CompletedUpload" });
