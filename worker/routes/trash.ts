// Owns /api/v1/spaces/:space/trash: what the user deleted, restore (original folder or the root,
// renamed on a clash), purge of one item (objects deleted on their storage, retried when it is
// unreachable) and emptying the whole trash.
import {
  fileOutSchema,
  folderOutSchema,
  itemParams,
  pageSchema,
  spaceParams,
  toFileOut,
  toFolderOut,
} from "../api/files.ts";
import { emptyTrashSchema, trashQuery } from "../api/trash.ts";
import { listTrash } from "../files/listing.ts";
import { resolveSpace } from "../files/spaces.ts";
import { emptyTrash, purgeFile, purgeFolder, restoreFile, restoreFolder } from "../files/trash.ts";
import { defineRoute } from "../http/route.ts";

const tag = "trash";

export const trashRoutes = [
  defineRoute({
    method: "GET",
    path: "/api/v1/spaces/:space/trash",
    access: "user",
    summary: "Items in the trash (trashed folders first, then files; each newest first)",
    tag,
    params: spaceParams,
    query: trashQuery,
    response: pageSchema,
    handler: async ({ services, user, params, query }) =>
      listTrash(services, resolveSpace(user, params.space), query.limit, query.cursor),
  }),
  defineRoute({
    method: "POST",
    path: "/api/v1/spaces/:space/trash/files/:id/restore",
    access: "user",
    summary: "Restore a file from the trash",
    tag,
    params: itemParams,
    response: fileOutSchema,
    handler: async ({ services, user, params }) =>
      toFileOut(await restoreFile(services, resolveSpace(user, params.space), params.id)),
  }),
  defineRoute({
    method: "POST",
    path: "/api/v1/spaces/:space/trash/folders/:id/restore",
    access: "user",
    summary: "Restore a folder (with everything that went to the trash with it)",
    tag,
    params: itemParams,
    response: folderOutSchema,
    handler: async ({ services, user, params }) =>
      toFolderOut(await restoreFolder(services, resolveSpace(user, params.space), params.id)),
  }),
  defineRoute({
    method: "DELETE",
    path: "/api/v1/spaces/:space/trash/files/:id",
    access: "user",
    summary: "Delete a file in the trash for good (its object is deleted on its storage)",
    tag,
    params: itemParams,
    handler: async ({ services, user, params }) => {
      await purgeFile(services, resolveSpace(user, params.space), params.id);
    },
  }),
  defineRoute({
    method: "DELETE",
    path: "/api/v1/spaces/:space/trash/folders/:id",
    access: "user",
    summary: "Delete a folder in the trash for good, with its content",
    tag,
    params: itemParams,
    handler: async ({ services, user, params }) => {
      await purgeFolder(services, resolveSpace(user, params.space), params.id);
    },
  }),
  defineRoute({
    method: "DELETE",
    path: "/api/v1/spaces/:space/trash",
    access: "user",
    summary: "Empty the trash",
    tag,
    params: spaceParams,
    response: emptyTrashSchema,
    handler: async ({ services, user, params }) => emptyTrash(services, resolveSpace(user, params.space)),
  }),
];
