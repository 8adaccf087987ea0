// Owns /api/v1/spaces/:space/{items,folders,files}: paged listing, folders (create, rename, move,
// delete to trash), files (metadata, rename, move, delete to trash), downloads and previews. `:space`
// is `me` or a team id of which the caller is a member (worker/files/spaces.ts).
import {
  createFolderBody,
  downloadQuery,
  fileAnswers,
  fileOutSchema,
  fileRequestHeaders,
  folderOutSchema,
  folderWithPathSchema,
  itemParams,
  listingQuery,
  listingSchema,
  spaceParams,
  toFileOut,
  toFolderOut,
  updateFileBody,
  updateFolderBody,
} from "../api/files.ts";
import { decodeCursor, listingPage, listingStatements } from "../files/listing.ts";
import { previewType } from "../files/preview.ts";
import { liveFile, liveFolder, liveFolderOf, liveFolderStatement } from "../files/records.ts";
import { fileFrom, fileReads, serveFile } from "../files/serve.ts";
import { resolveSpace, spaceRefOf } from "../files/spaces.ts";
import { trashFile, trashFolder } from "../files/trash.ts";
import {
  createFolder,
  folderPath,
  folderPathStatement,
  pathOf,
  updateFile,
  updateFolder,
} from "../files/tree.ts";
import { defineRoute } from "../http/route.ts";

const tag = "files";

export const fileRoutes = [
  defineRoute({
    method: "GET",
    path: "/api/v1/spaces/:space/items",
    access: "user",
    summary: "List a folder (folders first, then files; sorted by name, size or modified; paged by cursor)",
    tag,
    params: spaceParams,
    query: listingQuery,
    response: listingSchema,
    // The page (and the folder with its breadcrumbs) is read with the caller's session: one round trip.
    authReads: ({ services, params, query }, userId) => {
      const space = spaceRefOf(params.space, userId);
      const order = { sort: query.sort, order: query.order };
      const listing = listingStatements(
        services,
        space,
        query.folder_id ?? null,
        query.limit,
        decodeCursor(query.cursor),
        order,
      );
      if (!query.folder_id) return [...listing];
      return [
        liveFolderStatement(services, space, query.folder_id),
        folderPathStatement(services, space, query.folder_id),
        ...listing,
      ];
    },
    handler: async ({ user, params, query, authRows }) => {
      resolveSpace(user, params.space);
      const order = { sort: query.sort, order: query.order };
      type Listing = Parameters<typeof listingPage>;
      if (!query.folder_id) {
        const [folderRows, fileRows] = authRows as [Listing[0], Listing[1]];
        return { folder: null, path: [], ...listingPage(folderRows, fileRows, query.limit, order) };
      }
      // A missing folder discards the rest.
      const [folderRow, pathRows, folderRows, fileRows] = authRows as [
        Parameters<typeof liveFolderOf>[0],
        Parameters<typeof pathOf>[0],
        Listing[0],
        Listing[1],
      ];
      const folder = liveFolderOf(folderRow);
      return {
        folder: toFolderOut(folder),
        path: pathOf(pathRows),
        ...listingPage(folderRows, fileRows, query.limit, order),
      };
    },
  }),
  defineRoute({
    method: "POST",
    path: "/api/v1/spaces/:space/folders",
    access: "user",
    summary: "Create a folder (409 name_conflict when the name is taken)",
    tag,
    params: spaceParams,
    body: createFolderBody,
    response: folderOutSchema,
    status: 201,
    handler: async ({ services, user, params, body }) => {
      const space = resolveSpace(user, params.space);
      const folder = await createFolder(services, space, {
        name: body.name,
        parentId: body.parent_id ?? null,
        createdBy: user.id,
      });
      return toFolderOut(folder);
    },
  }),
  defineRoute({
    method: "GET",
    path: "/api/v1/spaces/:space/folders/:id",
    access: "user",
    summary: "A folder with its path from the root",
    tag,
    params: itemParams,
    response: folderWithPathSchema,
    handler: async ({ services, user, params }) => {
      const space = resolveSpace(user, params.space);
      const folder = await liveFolder(services, space, params.id);
      return { ...toFolderOut(folder), path: await folderPath(services, space, folder.id) };
    },
  }),
  defineRoute({
    method: "PATCH",
    path: "/api/v1/spaces/:space/folders/:id",
    access: "user",
    summary: "Rename and/or move a folder (parent_id null = root; never into its own subtree)",
    tag,
    params: itemParams,
    body: updateFolderBody,
    response: folderOutSchema,
    handler: async ({ services, user, params, body }) => {
      const space = resolveSpace(user, params.space);
      return toFolderOut(
        await updateFolder(services, space, params.id, { name: body.name, parentId: body.parent_id }),
      );
    },
  }),
  defineRoute({
    method: "DELETE",
    path: "/api/v1/spaces/:space/folders/:id",
    access: "user",
    summary: "Move a folder and everything in it to the trash",
    tag,
    params: itemParams,
    handler: async ({ services, user, params }) => {
      await trashFolder(services, resolveSpace(user, params.space), params.id);
    },
  }),
  defineRoute({
    method: "GET",
    path: "/api/v1/spaces/:space/files/:id",
    access: "user",
    summary: "A file's metadata",
    tag,
    params: itemParams,
    response: fileOutSchema,
    handler: async ({ services, user, params }) => {
      const space = resolveSpace(user, params.space);
      return toFileOut(await liveFile(services, space, params.id));
    },
  }),
  defineRoute({
    method: "PATCH",
    path: "/api/v1/spaces/:space/files/:id",
    access: "user",
    summary: "Rename and/or move a file (folder_id null = root)",
    tag,
    params: itemParams,
    body: updateFileBody,
    response: fileOutSchema,
    handler: async ({ services, user, params, body }) => {
      const space = resolveSpace(user, params.space);
      return toFileOut(
        await updateFile(services, space, params.id, { name: body.name, folderId: body.folder_id }),
      );
    },
  }),
  defineRoute({
    method: "DELETE",
    path: "/api/v1/spaces/:space/files/:id",
    access: "user",
    summary: "Move a file to the trash",
    tag,
    params: itemParams,
    handler: async ({ services, user, params }) => {
      await trashFile(services, resolveSpace(user, params.space), params.id);
    },
  }),
  defineRoute({
    method: "GET",
    path: "/api/v1/spaces/:space/files/:id/content",
    access: "user",
    summary:
      "Download a file: Range (206/416), ETag, If-None-Match, If-Range; relayed or a 302 to a presigned URL (?redirect=false: the URL as JSON)",
    tag,
    params: itemParams,
    query: downloadQuery,
    raw: fileAnswers({ presigned: true }),
    requestHeaders: fileRequestHeaders,
    // The file, its policy and node are read with the caller's session: one round trip in all.
    authReads: ({ services, params }, userId) => [
      ...fileReads(services, spaceRefOf(params.space, userId), params.id),
    ],
    handler: async ({ request, services, user, params, query, authRows }) => {
      resolveSpace(user, params.space);
      const { file, storage } = fileFrom(authRows);
      return serveFile(services, request, file, {
        disposition: "attachment",
        mode: "policy",
        redirect: query.redirect === "true",
        storage,
      });
    },
  }),
  defineRoute({
    method: "GET",
    path: "/api/v1/spaces/:space/files/:id/preview",
    access: "user",
    summary: "Inline preview of an image or PDF (sandboxed, nosniff); other types 415 preview_unsupported",
    tag,
    params: itemParams,
    raw: fileAnswers({ presigned: false }),
    requestHeaders: fileRequestHeaders,
    authReads: ({ services, params }, userId) => [
      ...fileReads(services, spaceRefOf(params.space, userId), params.id),
    ],
    handler: async ({ request, services, user, params, authRows }) => {
      resolveSpace(user, params.space);
      const { file, storage } = fileFrom(authRows);
      const contentType = previewType(file);
      return serveFile(services, request, file, {
        disposition: "inline",
        contentType,
        mode: "relay",
        redirect: false,
        storage,
      });
    },
  }),
];
