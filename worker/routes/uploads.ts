// Upload session endpoints: init in a space, relay parts, presigned URLs, resume (status and the
// caller's unfinished sessions), complete and abort. The flow is documented in /work/notes/f-contract.md
// and in each summary below; the logic lives in worker/uploads/.
import { z } from "zod";
import { fileOutSchema } from "../files/records.ts";
import { defineRoute } from "../http/route.ts";
import { abortUpload } from "../uploads/abort.ts";
import { completeUpload } from "../uploads/complete.ts";
import { putRelayPart } from "../uploads/parts.ts";
import { MAX_PRESIGN_BATCH, presignParts } from "../uploads/presign.ts";
import { initBodySchema, initUpload, loadSession } from "../uploads/sessions.ts";
import { resolveSpace, toFileOut } from "../uploads/space.ts";
import { listOpenUploads, toUploadOut, uploadSchema, viewUpload } from "../uploads/view.ts";

const tag = "uploads";
const idParams = z.object({ id: z.string().min(1).max(64) });
const partParams = idParams.extend({ n: z.coerce.number().int() });

const partSchema = z.object({ part_number: z.number().int(), size: z.number().int(), sha256: z.string() });
const presignBody = z.object({
  part_numbers: z.array(z.number().int()).min(1).max(MAX_PRESIGN_BATCH),
});
const presignSchema = z.object({
  urls: z.array(
    z.object({
      part_number: z.number().int(),
      url: z.string(),
      method: z.literal("PUT"),
      headers: z.record(z.string(), z.string()),
      expires_at: z.string(),
    }),
  ),
});
const completeBody = z
  .object({
    /** Presigned uploads on an s3 policy only: each part's ETag as its PUT answered it. */
    parts: z
      .array(z.object({ part_number: z.number().int().min(1), etag: z.string().min(1).max(200) }))
      .max(10_000)
      .optional(),
  })
  .optional();

export const uploadRoutes = [
  defineRoute({
    method: "POST",
    path: "/api/v1/spaces/:space/uploads",
    access: "user",
    summary:
      "Start an upload: resolves the storage policy (kept by the file forever), enforces its size limit, answers the mode and the part plan",
    tag,
    params: z.object({ space: z.string().min(1).max(64) }),
    body: initBodySchema,
    response: uploadSchema,
    status: 201,
    handler: async ({ services, user, params, body }) => {
      const space = await resolveSpace(services, user, params.space);
      const session = await initUpload(services, user, space, body);
      return toUploadOut(session, []);
    },
  }),
  defineRoute({
    method: "GET",
    path: "/api/v1/uploads",
    access: "user",
    summary: "The caller's unfinished uploads (optionally of one client_id), to resume after a reload",
    tag,
    query: z.object({ client_id: z.string().min(1).max(128).optional() }),
    response: z.object({ items: z.array(uploadSchema) }),
    handler: async ({ services, user, query }) => ({
      items: await listOpenUploads(services, user, query.client_id),
    }),
  }),
  defineRoute({
    method: "GET",
    path: "/api/v1/uploads/:id",
    access: "user",
    summary:
      "An upload with the parts that arrived and those still missing (presigned: asked from the storage)",
    tag,
    params: idParams,
    response: uploadSchema,
    handler: async ({ services, user, params }) =>
      viewUpload(services, await loadSession(services, user, params.id)),
  }),
  defineRoute({
    method: "PUT",
    path: "/api/v1/uploads/:id/parts/:n",
    access: "user",
    summary:
      "relay_stream: stream part n (raw body, exact size; optional X-Flotilla-Sha256 or Content-Digest) to the storage; retries are safe",
    tag,
    params: partParams,
    response: partSchema,
    handler: async ({ services, user, params, request }) =>
      putRelayPart(services, user, params.id, params.n, request),
  }),
  defineRoute({
    method: "POST",
    path: "/api/v1/uploads/:id/presign",
    access: "user",
    summary: "presigned: short-lived single-use storage URLs for the given parts, with the headers to send",
    tag,
    params: idParams,
    body: presignBody,
    response: presignSchema,
    handler: async ({ services, user, params, body }) => ({
      urls: await presignParts(services, user, params.id, body.part_numbers),
    }),
  }),
  defineRoute({
    method: "POST",
    path: "/api/v1/uploads/:id/complete",
    access: "user",
    summary:
      "Compose and verify (size, SHA-256) and create the file; idempotent; a storage outage keeps the upload open",
    tag,
    params: idParams,
    body: completeBody,
    response: z.object({ upload: uploadSchema, file: fileOutSchema }),
    handler: async ({ services, user, params, body }) => {
      const { session, file } = await completeUpload(services, user, params.id, body?.parts);
      return { upload: toUploadOut(session, []), file: toFileOut(file) };
    },
  }),
  defineRoute({
    method: "DELETE",
    path: "/api/v1/uploads/:id",
    access: "user",
    summary: "Abort an upload; its parts are removed from the storage (retried by the scheduled task)",
    tag,
    params: idParams,
    handler: async ({ services, user, params }) => {
      await abortUpload(services, user, params.id);
    },
  }),
];
