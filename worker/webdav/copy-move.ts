// Owns WebDAV COPY and MOVE: the Destination (same host, under /dav/, in one of the caller's spaces),
// Overwrite (412 when F and something is there) and Depth (COPY of a collection 0 or infinity, MOVE
// always infinity). A MOVE inside a space renames and re-parents the records (bytes stay where they
// are, properties follow); into another space it is a copy there (routed by that space's policy
// group, like an upload) and the original goes to the trash. What a MOVE or an overwrite replaces
// goes to the trash too, restorable. A copied folder that fails half way is taken back whole.
import { AppError, notFound } from "../../shared/errors.ts";
import type { AuthUser } from "../accounts/auth.ts";
import type { FileRow, FolderRow } from "../files/records.ts";
import type { Space } from "../files/spaces.ts";
import { purgeFolder, restoreFile, restoreFolder, trashFile, trashFolder } from "../files/trash.ts";
import { createFolder, updateFile, updateFolder } from "../files/tree.ts";
import type { Services } from "../services.ts";
import { assertNameAllowed, type DavContext, guard, inSpace, writeTarget } from "./context.ts";
import { dropLocks, isAncestor, lockPath } from "./locks.ts";
import { pathNames } from "./paths.ts";
import { copyDeadProps } from "./properties.ts";
import { children, locate, type Resource, resolve } from "./resources.ts";
import { copyFile, type WritePlace } from "./write.ts";

async function destination(ctx: DavContext): Promise<Resource> {
  const { request, services, user } = ctx;
  const raw = request.headers.get("destination");
  if (!raw) throw new AppError("bad_request", "COPY and MOVE need a Destination header.");
  let url: URL;
  try {
    url = new URL(raw, request.url);
  } catch {
    throw new AppError("bad_request", "The Destination header is not a URL.");
  }
  const origins = new Set([new URL(request.url).origin]);
  if (services.env.PUBLIC_URL) origins.add(services.env.PUBLIC_URL);
  if (!origins.has(url.origin)) {
    throw new AppError("destination_foreign", "The Destination is on another server.");
  }
  return resolve(services, await locate(services, user, pathNames(url.pathname)));
}

function overwriteOf(request: Request): boolean {
  const value = (request.headers.get("overwrite") ?? "T").trim().toUpperCase();
  if (value !== "T" && value !== "F") throw new AppError("bad_request", "Overwrite must be T or F.");
  return value === "T";
}

function depthOf(request: Request, move: boolean, collection: boolean): "0" | "infinity" {
  const depth = (request.headers.get("depth") ?? "infinity").trim().toLowerCase();
  if (depth === "infinity") return "infinity";
  if (depth === "0" && !move) return "0";
  if (!collection && (depth === "0" || depth === "1")) return "infinity";
  throw new AppError(
    "bad_request",
    move ? "MOVE is always Depth: infinity." : "COPY takes Depth 0 or infinity.",
  );
}

export async function copyMove(ctx: DavContext, move: boolean): Promise<Response> {
  const { request, services, user, resource: source } = ctx;
  if (source.type === "missing") throw notFound("resource");
  if (source.type !== "file" && source.type !== "folder") {
    throw new AppError("forbidden", "A space root cannot be copied or moved.");
  }
  const depth = depthOf(request, move, source.type === "folder");
  const overwrite = overwriteOf(request);
  const target = await destination(ctx);
  const to = inSpace(target.loc);
  const from = source.loc;
  const sameSpace = from.space.kind === to.space.kind && from.space.id === to.space.id;
  const fromPath = lockPath(from.inner);
  const toPath = lockPath(to.inner);
  if (target.type === "root" || (sameSpace && fromPath === toPath)) {
    throw new AppError("forbidden", "The destination is the source itself or a space root.");
  }
  if (sameSpace && source.type === "folder" && isAncestor(fromPath, toPath)) {
    throw new AppError("folder_cycle", "A folder cannot be copied or moved into itself.");
  }
  const parentId =
    target.type === "file"
      ? target.file.folderId
      : target.type === "folder"
        ? target.folder.parentId
        : target.type === "missing"
          ? target.parentId
          : undefined;
  if (parentId === undefined)
    throw new AppError("parent_not_found", "The destination's parent does not exist.");
  const exists = target.type === "file" || target.type === "folder";
  if (exists && !overwrite) {
    throw new AppError("precondition_failed", "Something exists at the destination and Overwrite is F.");
  }
  assertNameAllowed(to);
  await guard(ctx, [
    ...(move ? [writeTarget(from, source.type === "folder" ? "tree" : "member")] : []),
    writeTarget(to, target.type === "folder" ? "tree" : "member"),
  ]);
  const place: WritePlace = { space: to.space, folderId: parentId, name: to.inner[to.inner.length - 1]! };
  const item = source.type === "file" ? source.file : source.folder;

  if (move && sameSpace) {
    const undo = exists ? await trashTarget(services, target) : null;
    try {
      if (source.type === "file") {
        await updateFile(services, from.space, source.file.id, {
          name: place.name,
          folderId: place.folderId,
        });
      } else {
        await updateFolder(services, from.space, source.folder.id, {
          name: place.name,
          parentId: place.folderId,
        });
      }
    } catch (error) {
      await undo?.().catch(() => {});
      throw error;
    }
  } else {
    // A file copied onto a file replaces its content in place; anything else there goes first.
    const replacesInPlace = source.type === "file" && target.type === "file";
    if (exists && !replacesInPlace) await trashTarget(services, target);
    await copyItem(services, user, from.space, source.type, item, place, depth);
    if (move) {
      if (source.type === "file") await trashFile(services, from.space, source.file.id);
      else await trashFolder(services, from.space, source.folder.id);
    }
  }
  if (exists) await dropLocks(services, to.space, toPath);
  if (move) await dropLocks(services, from.space, fromPath);
  return new Response(null, { status: exists ? 204 : 201 });
}

/** Moves what is at the destination to the trash; answers how to bring it back. */
async function trashTarget(services: Services, target: Resource): Promise<() => Promise<void>> {
  if (target.type === "file") {
    await trashFile(services, target.loc.space, target.file.id);
    return async () => void (await restoreFile(services, target.loc.space, target.file.id));
  }
  if (target.type === "folder") {
    await trashFolder(services, target.loc.space, target.folder.id);
    return async () => void (await restoreFolder(services, target.loc.space, target.folder.id));
  }
  return async () => {};
}

/** Copies a file or a folder (with its members at Depth infinity) to `place`, with its properties. */
async function copyItem(
  services: Services,
  user: AuthUser,
  space: Space,
  type: "file" | "folder",
  item: FileRow | FolderRow,
  place: WritePlace,
  depth: "0" | "infinity",
): Promise<void> {
  if (type === "file") {
    const { file } = await copyFile(services, user, item as FileRow, place);
    await copyDeadProps(services, { fileId: item.id }, { fileId: file.id });
    return;
  }
  const created = await createFolder(services, place.space, {
    name: place.name,
    parentId: place.folderId,
    createdBy: user.id,
  });
  try {
    await copyDeadProps(services, { folderId: item.id }, { folderId: created.id });
    if (depth === "infinity")
      await copyMembers(services, user, space, item.id, { ...place, folderId: created.id });
  } catch (error) {
    // Nothing half copied stays: the new folder goes, with whatever was copied into it.
    await trashFolder(services, place.space, created.id)
      .then(() => purgeFolder(services, place.space, created.id))
      .catch((cause: unknown) =>
        services.log.warn("webdav copy not taken back", { folder_id: created.id, error: String(cause) }),
      );
    throw error;
  }
}

async function copyMembers(
  services: Services,
  user: AuthUser,
  space: Space,
  folderId: string,
  into: WritePlace,
): Promise<void> {
  const { folders, files } = await children(services, space, folderId);
  for (const folder of folders) {
    const created = await createFolder(services, into.space, {
      name: folder.name,
      parentId: into.folderId,
      createdBy: user.id,
    });
    await copyDeadProps(services, { folderId: folder.id }, { folderId: created.id });
    await copyMembers(services, user, space, folder.id, { ...into, folderId: created.id });
  }
  for (const file of files) {
    const { file: copied } = await copyFile(services, user, file, { ...into, name: file.name });
    await copyDeadProps(services, { fileId: file.id }, { fileId: copied.id });
  }
}
