// Owns WebDAV LOCK and UNLOCK (RFC 4918 class 2): exclusive and shared write locks at Depth 0 or
// infinity with a timeout (capped at MAX_LOCK_SECONDS), kept in the database so every isolate sees
// them; refresh by LOCK without a body and the token in If; a LOCK on an unmapped path creates an
// empty file there (201), as the RFC has it. Only the user who took a lock can refresh, use or
// release it.
import { and, eq, gt } from "drizzle-orm";
import { AppError, notFound } from "../../shared/errors.ts";
import { davLocks } from "../db/schema.ts";
import { assertNameAllowed, type DavContext, guard, inSpace, spaceBase, writeTarget } from "./context.ts";
import { conflicting, covers, type LockRow, lockPath, locksAround, lockTimeout } from "./locks.ts";
import { activeLockXml } from "./properties.ts";
import { contentTypeFor } from "./put.ts";
import { writeFile } from "./write.ts";
import { childElements, davChild, innerXml, isDav, readXml, xmlResponse } from "./xml.ts";

interface LockRequest {
  scope: LockRow["scope"];
  owner: string;
}

function parseLockInfo(root: NonNullable<Awaited<ReturnType<typeof readXml>>>): LockRequest {
  if (!isDav(root, "lockinfo")) throw new AppError("bad_request", "A LOCK body is a DAV:lockinfo element.");
  const scope = davChild(root, "lockscope");
  const kind = scope ? childElements(scope)[0] : undefined;
  if (!kind || !(isDav(kind, "exclusive") || isDav(kind, "shared"))) {
    throw new AppError("bad_request", "lockscope must be exclusive or shared.");
  }
  const type = davChild(root, "locktype");
  if (!type || !childElements(type).some((el) => isDav(el, "write"))) {
    throw new AppError("bad_request", "Only write locks exist.");
  }
  const owner = davChild(root, "owner");
  return { scope: kind.localName === "shared" ? "shared" : "exclusive", owner: owner ? innerXml(owner) : "" };
}

function lockDepth(request: Request): LockRow["depth"] {
  const depth = (request.headers.get("depth") ?? "infinity").trim().toLowerCase();
  if (depth === "0" || depth === "infinity") return depth;
  throw new AppError("bad_request", "A LOCK is Depth 0 or infinity.");
}

function lockAnswer(lock: LockRow, base: readonly string[], now: Date, status: number): Response {
  return xmlResponse(
    `<D:prop xmlns:D="DAV:"><D:lockdiscovery>${activeLockXml(lock, base, now)}</D:lockdiscovery></D:prop>`,
    status,
    { "lock-token": `<${lock.token}>` },
  );
}

export async function lock(ctx: DavContext): Promise<Response> {
  const { request, services, user } = ctx;
  let resource = ctx.resource;
  const loc = inSpace(resource.loc);
  const path = lockPath(loc.inner);
  const now = services.now();
  const seconds = lockTimeout(request.headers.get("timeout"));
  const body = await readXml(request);
  const existing = await locksAround(services, loc.space, [path], [path]);

  if (!body) {
    // A refresh: the lock named in If that applies here and is the caller's.
    const mine = existing.find((l) => ctx.submitted.has(l.token) && l.userId === user.id && covers(l, path));
    if (!mine) throw new AppError("precondition_failed", "Name the lock to refresh in the If header.");
    const expiresAt = new Date(now.getTime() + seconds * 1000);
    await services.db
      .update(davLocks)
      .set({ timeoutSeconds: seconds, expiresAt })
      .where(eq(davLocks.token, mine.token));
    return lockAnswer({ ...mine, timeoutSeconds: seconds, expiresAt }, spaceBase(loc), now, 200);
  }

  const wanted = parseLockInfo(body);
  const depth = lockDepth(request);
  const clash = conflicting(existing, path, wanted.scope, depth);
  if (clash) {
    throw new AppError("locked", "The resource is locked by another lock.", {
      details: { lock_root: null },
    });
  }
  let created = false;
  if (resource.type === "missing") {
    if (resource.parentId === undefined)
      throw new AppError("parent_not_found", "The parent collection does not exist.");
    assertNameAllowed(loc);
    await guard(ctx, [writeTarget(loc, "member")]);
    const name = loc.inner[loc.inner.length - 1]!;
    const { file } = await writeFile(
      services,
      user,
      { space: loc.space, folderId: resource.parentId, name },
      {
        body: new ReadableStream<Uint8Array>({ start: (c) => c.close() }),
        size: 0,
        contentType: contentTypeFor(name, null),
      },
    );
    resource = { type: "file", loc, file };
    created = true;
  }
  if (resource.type === "teams") throw notFound("resource");
  const row: LockRow = {
    token: `opaquelocktoken:${crypto.randomUUID()}`,
    spaceKind: loc.space.kind,
    spaceId: loc.space.id,
    path,
    depth: resource.type === "file" ? "0" : depth,
    scope: wanted.scope,
    owner: wanted.owner,
    userId: user.id,
    timeoutSeconds: seconds,
    expiresAt: new Date(now.getTime() + seconds * 1000),
    createdAt: now,
  };
  await services.db.insert(davLocks).values(row);
  // Taken at the same moment by another request: the later insert gives way.
  const after = await locksAround(services, loc.space, [path], [path]);
  const rival = conflicting(
    after.filter((l) => l.token !== row.token && l.createdAt.getTime() <= row.createdAt.getTime()),
    path,
    row.scope,
    row.depth,
  );
  if (rival) {
    await services.db.delete(davLocks).where(eq(davLocks.token, row.token));
    throw new AppError("locked", "The resource is locked by another lock.");
  }
  return lockAnswer(row, spaceBase(loc), now, created ? 201 : 200);
}

export async function unlock(ctx: DavContext): Promise<Response> {
  const { request, services, user } = ctx;
  const loc = inSpace(ctx.resource.loc);
  // RFC 4918 has the token in angle brackets; some clients send it bare.
  const header = (request.headers.get("lock-token") ?? "").trim();
  const token = /^<([^<>\s]+)>$/.exec(header)?.[1] ?? (/^[^<>\s]+$/.test(header) ? header : undefined);
  if (!token) throw new AppError("bad_request", "UNLOCK needs a Lock-Token header: <token>.");
  const [row] = await services.db
    .select()
    .from(davLocks)
    .where(
      and(
        eq(davLocks.token, token),
        eq(davLocks.spaceKind, loc.space.kind),
        eq(davLocks.spaceId, loc.space.id),
        gt(davLocks.expiresAt, services.now()),
      ),
    );
  if (!row || !covers(row, lockPath(loc.inner))) {
    throw new AppError("lock_token_mismatch", "No such lock applies to this resource.");
  }
  if (row.userId !== user.id)
    throw new AppError("forbidden", "Only the user who took a lock can release it.");
  await services.db.delete(davLocks).where(eq(davLocks.token, token));
  return new Response(null, { status: 204 });
}
