// Upload session endpoints: init in a space, relay parts, presigned URLs, resume (status and the
// caller's unfinished sessions), complete and abort. The flow is documented in docs/uploads.md and in
// each summary below; the logic lives in worker/uploads/.
import { toFileOut } from "../api/files.ts";
import {
  completeBody,
  completedSchema,
  initBodySchema,
  initParams,
  openUploadsQuery,
  partParams,
  partSchema,
  presignBody,
  presignSchema,
  toUploadOut,
  uploadListSchema,
  uploadSchema,
} from "../api/uploads.ts";
import { idParams } from "../api/wire.ts";
import { defineRoute } from "../http/route.ts";
import { abortUpload } from "../uploads/abort.ts";
import { completeUpload } from "../uploads/complete.ts";
import { partReads, putRelayPart } from "../uploads/parts.ts";
import { presignParts } from "../uploads/presign.ts";
import { initReads, initUpload, loadSession } from "../uploads/sessions.ts";
import { resolveSpace } from "../uploads/space.ts";
import { listOpenUploads, viewUpload } from "../uploads/view.ts";

const tag = "uploads";

export const uploadRoutes = [
  defineRoute({
    method: "POST",
    path: "/api/v1/spaces/:space/uploads",
    access: "user",
    summary:
      "Start an upload: resolves the storage policy (kept by the file forever), enforces its size limit, answers the mode and the part plan",
    tag,
    params: initParams,
    body: initBodySchema,
    response: uploadSchema,
    status: 201,
    // The target folder and the policy resolution are read with the session: init is one round trip
    // and the session's insert.
    authReads: ({ services, params, body }, userId) => initReads(services, params.space, body, userId),
    handler: async ({ services, user, params, body, authRows }) => {
      const space = resolveSpace(user, params.space);
      const session = await initUpload(services, user, space, body, authRows);
      return toUploadOut(session, []);
    },
  }),
  defineRoute({
    method: "GET",
    path: "/api/v1/uploads",
    access: "user",
    summary: "The caller's unfinished uploads (optionally of one client_id), to resume after a reload",
    tag,
    query: openUploadsQuery,
    response: uploadListSchema,
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
    rawBody: {
      contentType: "application/octet-stream",
      description: "The part's bytes: exactly the part's size (the chunk size; the last part the rest)",
    },
    requestHeaders: {
      "Content-Length": { description: "The part's exact size", required: true },
      "X-Flotilla-Sha256": {
        description: "Optional lowercase hex SHA-256 of the part, checked before it is accepted",
      },
      "Content-Digest": {
        description: "Optional sha-256 digest of the part (RFC 9530), as an alternative to X-Flotilla-Sha256",
      },
    },
    response: partSchema,
    // The session, the part's row and the storage are read with the caller's session.
    authReads: ({ services, params }, userId) => [...partReads(services, userId, params.id, params.n)],
    handler: async ({ services, user, params, request, authRows }) =>
      putRelayPart(services, user, params.id, params.n, request, authRows),
  }),
  defineRoute({
    method: "POST",
    path: "/api/v1/uploads/:id/presign",
    access: "user",
    summary:
      "presigned: short-lived single-use storage URLs for the given parts of the upload's multipart upload on the storage (one part when the file fits one chunk; never the file's own key), with the headers to send",
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
    response: completedSchema,
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
