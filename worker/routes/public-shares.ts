// Owns /api/v1/public/shares/:token: what anyone holding a share link may do without an account:
// read its metadata (a folder's listing too), unlock it with its password, download (counted; a
// presigned redirect when the file's policy says so) and preview. See worker/shares/access.ts.
import { AppError } from "../../shared/errors.ts";
import { fileAnswers, fileRequestHeaders, toFolderOut } from "../api/files.ts";
import {
  publicDownloadQuery,
  publicFileParams,
  publicListingQuery,
  publicListingSchema,
  shareViewSchema,
  tokenParams,
  unlockBody,
  unlockSchema,
} from "../api/shares.ts";
import { iso } from "../api/wire.ts";
import { listFolder } from "../files/listing.ts";
import { previewType } from "../files/preview.ts";
import { serveFile } from "../files/serve.ts";
import { folderPath } from "../files/tree.ts";
import { defineRoute } from "../http/route.ts";
import type { Services } from "../services.ts";
import {
  countDownload,
  fileInShare,
  folderInShare,
  isUnlocked,
  type OpenShare,
  openShare,
  requireUnlocked,
  unlockCookie,
  unlockShare,
} from "../shares/access.ts";

const tag = "public-shares";

/** A download is counted when bytes (or a URL to them) go out; HEAD serves neither. */
function counted(request: Request, services: Services, open: OpenShare) {
  return request.method === "HEAD" ? undefined : () => countDownload(services, open.share);
}

/**
 * A preview hands out the whole file and is not counted (the share page loads it on sight), so a link
 * with a download limit previews nothing: otherwise the limit would not limit images and PDFs.
 */
function assertPreviewable(open: OpenShare): void {
  if (open.share.maxDownloads !== null) {
    throw new AppError("preview_unsupported", "This link has a download limit; download the file instead.", {
      details: { reason: "download_limit" },
    });
  }
}

function fileShare(open: OpenShare) {
  if (!open.file) throw new AppError("not_found", "This share link is for a folder; use /files/:id.");
  return open.file;
}

export const publicShareRoutes = [
  defineRoute({
    method: "GET",
    path: "/api/v1/public/shares/:token",
    access: "public",
    summary: "What a share link points to (only kind and lock state while it is locked)",
    tag,
    params: tokenParams,
    response: shareViewSchema,
    handler: async ({ request, services, params }) => {
      const open = await openShare(services, params.token);
      const kind: "file" | "folder" = open.file ? "file" : "folder";
      const passwordRequired = open.share.passwordHash !== null;
      if (!(await isUnlocked(services, open.share, request))) {
        return { kind, locked: true, password_required: passwordRequired };
      }
      const { share } = open;
      return {
        kind,
        locked: false,
        password_required: passwordRequired,
        expires_at: iso(share.expiresAt),
        downloads_left:
          share.maxDownloads === null ? null : Math.max(0, share.maxDownloads - share.downloadCount),
        ...(open.file
          ? {
              file: {
                name: open.file.name,
                size: open.file.size,
                content_type: open.file.contentType,
                sha256: open.file.sha256,
              },
            }
          : { folder: { name: open.folder?.name ?? "" } }),
      };
    },
  }),
  defineRoute({
    method: "POST",
    path: "/api/v1/public/shares/:token/unlock",
    access: "public",
    summary:
      "Unlock a password-protected share link (rate limited); returns an unlock token and sets a cookie",
    tag,
    params: tokenParams,
    body: unlockBody,
    response: unlockSchema,
    handler: async ({ request, services, params, body, headers }) => {
      const open = await openShare(services, params.token);
      const unlocked = await unlockShare(services, open.share, body.password, request);
      headers.append("set-cookie", unlockCookie(unlocked.token, params.token, unlocked.expiresAt));
      return { unlock_token: unlocked.token, expires_at: unlocked.expiresAt.toISOString() };
    },
  }),
  defineRoute({
    method: "GET",
    path: "/api/v1/public/shares/:token/items",
    access: "public",
    summary: "List a shared folder or one of its subfolders",
    tag,
    params: tokenParams,
    query: publicListingQuery,
    response: publicListingSchema,
    handler: async ({ request, services, params, query }) => {
      const open = await openShare(services, params.token);
      await requireUnlocked(services, open.share, request);
      if (!open.folder) throw new AppError("not_found", "This share link is for a single file.");
      const folder = query.folder_id ? await folderInShare(services, open, query.folder_id) : open.folder;
      const page = await listFolder(services, open.space, folder.id, query.limit, query.cursor);
      const full = await folderPath(services, open.space, folder.id);
      const path = full.slice(full.findIndex((step) => step.id === open.folder?.id));
      return { folder: toFolderOut(folder), path, ...page };
    },
  }),
  defineRoute({
    method: "GET",
    path: "/api/v1/public/shares/:token/content",
    access: "public",
    summary: "Download the shared file (counted against the download limit)",
    tag,
    params: tokenParams,
    query: publicDownloadQuery,
    raw: fileAnswers({ presigned: true }),
    requestHeaders: fileRequestHeaders,
    handler: async ({ request, services, params, query }) => {
      const open = await openShare(services, params.token);
      await requireUnlocked(services, open.share, request);
      return serveFile(services, request, fileShare(open), {
        disposition: "attachment",
        mode: "policy",
        redirect: query.redirect === "true",
        beforeServe: counted(request, services, open),
      });
    },
  }),
  defineRoute({
    method: "GET",
    path: "/api/v1/public/shares/:token/files/:id/content",
    access: "public",
    summary: "Download a file inside a shared folder (counted against the download limit)",
    tag,
    params: publicFileParams,
    query: publicDownloadQuery,
    raw: fileAnswers({ presigned: true }),
    requestHeaders: fileRequestHeaders,
    handler: async ({ request, services, params, query }) => {
      const open = await openShare(services, params.token);
      await requireUnlocked(services, open.share, request);
      const file = await fileInShare(services, open, params.id);
      return serveFile(services, request, file, {
        disposition: "attachment",
        mode: "policy",
        redirect: query.redirect === "true",
        beforeServe: counted(request, services, open),
      });
    },
  }),
  defineRoute({
    method: "GET",
    path: "/api/v1/public/shares/:token/preview",
    access: "public",
    summary: "Inline preview of the shared image or PDF",
    tag,
    params: tokenParams,
    raw: fileAnswers({ presigned: false }),
    requestHeaders: fileRequestHeaders,
    handler: async ({ request, services, params }) => {
      const open = await openShare(services, params.token);
      await requireUnlocked(services, open.share, request);
      const file = fileShare(open);
      assertPreviewable(open);
      return serveFile(services, request, file, {
        disposition: "inline",
        contentType: previewType(file),
        mode: "relay",
        redirect: false,
      });
    },
  }),
  defineRoute({
    method: "GET",
    path: "/api/v1/public/shares/:token/files/:id/preview",
    access: "public",
    summary: "Inline preview of an image or PDF inside a shared folder",
    tag,
    params: publicFileParams,
    raw: fileAnswers({ presigned: false }),
    requestHeaders: fileRequestHeaders,
    handler: async ({ request, services, params }) => {
      const open = await openShare(services, params.token);
      await requireUnlocked(services, open.share, request);
      const file = await fileInShare(services, open, params.id);
      assertPreviewable(open);
      return serveFile(services, request, file, {
        disposition: "inline",
        contentType: previewType(file),
        mode: "relay",
        redirect: false,
      });
    },
  }),
];
