// Owns WebDAV PUT: the body's size from Content-Length, or from X-Expected-Entity-Length when macOS
// Finder sends it chunked; a chunked body of unknown size is read as write.ts writeUnsized says (411
// where no policy takes files of any size). An optional whole-file SHA-256 (X-Flotilla-Sha256 or
// Content-Digest) is verified before anything is kept. The content type is the client's, or guessed
// from the name when it sends none. 201 for a new file, 204 for new content.
import { AppError } from "../../shared/errors.ts";
import { cleanContentType } from "../files/records.ts";
import { partDigest } from "../uploads/parts.ts";
import { assertNameAllowed, type DavContext, guard, inSpace, writeTarget } from "./context.ts";
import { writeFile, writeUnsized } from "./write.ts";

const BY_EXTENSION: Record<string, string> = {
  txt: "text/plain",
  md: "text/markdown",
  csv: "text/csv",
  json: "application/json",
  pdf: "application/pdf",
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  svg: "image/svg+xml",
  mp4: "video/mp4",
  mp3: "audio/mpeg",
  zip: "application/zip",
};

/** The declared media type, unless it says nothing (absent or octet-stream): then one from the name. */
export function contentTypeFor(name: string, declared: string | null): string {
  const cleaned = cleanContentType(declared ?? undefined);
  if (cleaned !== "application/octet-stream") return cleaned;
  const ext = /\.([a-z0-9]+)$/i.exec(name)?.[1]?.toLowerCase();
  return (ext && BY_EXTENSION[ext]) || cleaned;
}

/** The byte count the body will have, or null when the client does not say. */
export function declaredSize(headers: Headers): number | null {
  for (const name of ["content-length", "x-expected-entity-length"]) {
    const value = headers.get(name);
    if (value === null) continue;
    if (!/^\d{1,16}$/.test(value.trim())) throw new AppError("bad_request", `${name} must be a byte count.`);
    const size = Number(value.trim());
    if (name === "content-length" && size === 0 && headers.has("x-expected-entity-length")) continue;
    return size;
  }
  return null;
}

export async function put(ctx: DavContext): Promise<Response> {
  const { request, services, user, resource } = ctx;
  if (resource.type === "root" || resource.type === "folder" || resource.type === "teams") {
    throw new AppError("method_not_allowed", "PUT writes files; this is a collection.", {
      headers: { allow: "OPTIONS, GET, HEAD, PROPFIND, PROPPATCH, DELETE, COPY, MOVE, LOCK, UNLOCK" },
    });
  }
  if (request.headers.has("content-range")) {
    throw new AppError("bad_request", "A PUT with Content-Range is not supported; send the whole file.");
  }
  const loc = inSpace(resource.loc);
  const parentId = resource.type === "file" ? resource.file.folderId : resource.parentId;
  if (parentId === undefined) throw new AppError("parent_not_found", "The parent collection does not exist.");
  if (resource.type === "missing") assertNameAllowed(loc);
  await guard(ctx, [writeTarget(loc, resource.type === "file" ? "self" : "member")]);
  const size = declaredSize(request.headers);
  const name = loc.inner[loc.inner.length - 1]!;
  const place = { space: loc.space, folderId: parentId, name };
  const sha256 = partDigest(request.headers);
  const content = {
    body: request.body ?? new ReadableStream<Uint8Array>({ start: (c) => c.close() }),
    contentType: contentTypeFor(name, request.headers.get("content-type")),
    ...(sha256 ? { sha256 } : {}),
  };
  const { file, replaced } =
    size === null
      ? await writeUnsized(services, user, place, content)
      : await writeFile(services, user, place, { ...content, size });
  return new Response(null, { status: replaced ? 204 : 201, headers: { etag: `"${file.sha256}"` } });
}
