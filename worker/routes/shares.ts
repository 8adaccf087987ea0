// Owns /api/v1/spaces/:space/shares: the owner's side of share links (create, list, revoke).
import { z } from "zod";
import { liveFile, liveFolder } from "../files/records.ts";
import { resolveSpace, spaceParam } from "../files/spaces.ts";
import { defineRoute } from "../http/route.ts";
import {
  createShare,
  createShareSchema,
  listShares,
  revokeShare,
  shareOutSchema,
  toShareOut,
} from "../shares/links.ts";

const spaceParams = z.object({ space: spaceParam });
const tag = "shares";

export const shareRoutes = [
  defineRoute({
    method: "POST",
    path: "/api/v1/spaces/:space/shares",
    access: "user",
    summary:
      "Create a share link for a file or folder (token shown once; optional expiry, password, download limit)",
    tag,
    params: spaceParams,
    body: createShareSchema,
    response: z.object({ share: shareOutSchema, token: z.string(), url: z.string() }),
    status: 201,
    handler: async ({ request, services, user, params, body }) => {
      const space = await resolveSpace(services, user, params.space);
      const { row, token } = await createShare(services, space, user.id, body);
      const target = row.fileId
        ? await liveFile(services, space, row.fileId)
        : await liveFolder(services, space, row.folderId ?? "");
      const origin = services.env.PUBLIC_URL ?? new URL(request.url).origin;
      return { share: toShareOut(services, row, target), token, url: `${origin}/s/${token}` };
    },
  }),
  defineRoute({
    method: "GET",
    path: "/api/v1/spaces/:space/shares",
    access: "user",
    summary: "Share links the caller created in this space",
    tag,
    params: spaceParams,
    response: z.object({ items: z.array(shareOutSchema) }),
    handler: async ({ services, user, params }) => ({
      items: await listShares(services, await resolveSpace(services, user, params.space), user.id),
    }),
  }),
  defineRoute({
    method: "DELETE",
    path: "/api/v1/spaces/:space/shares/:id",
    access: "user",
    summary: "Revoke a share link",
    tag,
    params: z.object({ space: spaceParam, id: z.string().min(1).max(64) }),
    handler: async ({ services, user, params }) => {
      await revokeShare(services, await resolveSpace(services, user, params.space), user.id, params.id);
    },
  }),
];
