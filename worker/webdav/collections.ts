// Owns WebDAV MKCOL and DELETE. MKCOL creates a folder (405 where something exists, 409 without a
// parent, 415 with a body: extended MKCOL is not supported). DELETE moves a file, or a folder with
// everything in it, to the trash (restorable from the console), never purges, and ends the locks on
// what it removed.
import { AppError, notFound } from "../../shared/errors.ts";
import { trashFile, trashFolder } from "../files/trash.ts";
import { createFolder } from "../files/tree.ts";
import { assertNameAllowed, type DavContext, guard, inSpace, writeTarget } from "./context.ts";
import { dropLocks, lockPath } from "./locks.ts";

export async function mkcol(ctx: DavContext): Promise<Response> {
  const { request, services, user, resource } = ctx;
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > 0 || request.headers.has("transfer-encoding")) {
    await request.body?.cancel();
    throw new AppError("media_type_unsupported", "MKCOL with a body is not supported.");
  }
  if (resource.type !== "missing") {
    throw new AppError("method_not_allowed", "Something exists at this path already.", {
      headers: { allow: "OPTIONS, GET, HEAD, PROPFIND, PROPPATCH, PUT, DELETE, COPY, MOVE, LOCK, UNLOCK" },
    });
  }
  const loc = inSpace(resource.loc);
  if (resource.parentId === undefined)
    throw new AppError("parent_not_found", "The parent collection does not exist.");
  assertNameAllowed(loc);
  await guard(ctx, [writeTarget(loc, "member")]);
  await createFolder(services, loc.space, {
    name: loc.inner[loc.inner.length - 1]!,
    parentId: resource.parentId,
    createdBy: user.id,
  });
  return new Response(null, { status: 201 });
}

export async function remove(ctx: DavContext): Promise<Response> {
  const { request, services, resource } = ctx;
  if (resource.type === "missing") throw notFound("resource");
  if (resource.type !== "file" && resource.type !== "folder") {
    throw new AppError("forbidden", "A space root cannot be deleted.");
  }
  const depth = request.headers.get("depth")?.trim().toLowerCase();
  if (resource.type === "folder" && depth !== undefined && depth !== "infinity") {
    throw new AppError("bad_request", "DELETE of a collection is always Depth: infinity.");
  }
  await guard(ctx, [writeTarget(resource.loc, resource.type === "folder" ? "tree" : "member")]);
  if (resource.type === "file") await trashFile(services, resource.loc.space, resource.file.id);
  else await trashFolder(services, resource.loc.space, resource.folder.id);
  await dropLocks(services, resource.loc.space, lockPath(resource.loc.inner));
  return new Response(null, { status: 204 });
}
