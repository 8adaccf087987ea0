// Owns /api/v1/spaces/:space/shares: the owner's side of share links (create, list, revoke).

import { spaceParams } from "../api/files.ts";
import {
  createdShareSchema,
  createShareSchema,
  shareListSchema,
  shareParams,
  toShareOut,
} from "../api/shares.ts";
import { resolveSpace, spaceRefOf } from "../files/spaces.ts";
import { primaryOrigin } from "../http/origin.ts";
import { defineRoute } from "../http/route.ts";
import { createShare, listShares, revokeShare, shareTargetOf, shareTargetReads } from "../shares/links.ts";

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
    response: createdShareSchema,
    status: 201,
    // The file or folder is read with the caller's session; then the link's insert: two round trips.
    authReads: ({ services, params, body }, userId) =>
      shareTargetReads(services, spaceRefOf(params.space, userId), body),
    handler: async ({ request, services, user, params, body, authRows }) => {
      const space = resolveSpace(user, params.space);
      const target = shareTargetOf(body, authRows);
      const { row, token } = await createShare(services, space, user.id, body);
      const url = `${primaryOrigin(services, request)}/s/${token}`;
      return { share: toShareOut(row, target, services.now()), token, url };
    },
  }),
  defineRoute({
    method: "GET",
    path: "/api/v1/spaces/:space/shares",
    access: "user",
    summary: "Share links the caller created in this space",
    tag,
    params: spaceParams,
    response: shareListSchema,
    handler: async ({ services, user, params }) => ({
      items: await listShares(services, resolveSpace(user, params.space), user.id),
    }),
  }),
  defineRoute({
    method: "DELETE",
    path: "/api/v1/spaces/:space/shares/:id",
    access: "user",
    summary: "Revoke a share link",
    tag,
    params: shareParams,
    handler: async ({ services, user, params }) => {
      await revokeShare(services, resolveSpace(user, params.space), user.id, params.id);
    },
  }),
];
