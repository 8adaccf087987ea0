// Owns the WebDAV front door at /dav/ (RFC 4918 class 1 and 2), beside the JSON route table: HTTP
// Basic with an app password on every request but OPTIONS (a session cookie authorises nothing
// here), read-only app passwords limited to reading methods, the If header evaluated before any
// method runs, then one handler per method over the same domain modules as the API. Every refusal
// is answered the RFC's way with its code in X-Flotilla-Error (worker/webdav/errors.ts).
import { AppError, toAppError } from "../../shared/errors.ts";
import { authenticateAppPassword } from "../accounts/app-passwords.ts";
import { databaseRefusal } from "../db/constraints.ts";
import { describeError } from "../logger.ts";
import type { Services } from "../services.ts";
import { mkcol, remove } from "./collections.ts";
import type { DavContext } from "./context.ts";
import { copyMove } from "./copy-move.ts";
import { davErrorResponse } from "./errors.ts";
import { get } from "./get.ts";
import { evaluateIf, parseIf, type ResourceState } from "./if-header.ts";
import { lock, unlock } from "./lock.ts";
import { covers, lockPath, locksAround } from "./locks.ts";
import { pathNames } from "./paths.ts";
import { propfind, proppatch } from "./properties.ts";
import { put } from "./put.ts";
import { locate, type Resource, resolve } from "./resources.ts";

const METHODS = [
  "OPTIONS",
  "GET",
  "HEAD",
  "PUT",
  "DELETE",
  "PROPFIND",
  "PROPPATCH",
  "MKCOL",
  "COPY",
  "MOVE",
  "LOCK",
  "UNLOCK",
] as const;
type Method = (typeof METHODS)[number];
const READING = new Set<string>(["OPTIONS", "GET", "HEAD", "PROPFIND"]);

const HANDLERS: Record<Exclude<Method, "OPTIONS">, (ctx: DavContext) => Promise<Response>> = {
  GET: get,
  HEAD: get,
  PUT: put,
  DELETE: remove,
  PROPFIND: propfind,
  PROPPATCH: proppatch,
  MKCOL: mkcol,
  COPY: (ctx) => copyMove(ctx, false),
  MOVE: (ctx) => copyMove(ctx, true),
  LOCK: lock,
  UNLOCK: unlock,
};

function options(): Response {
  return new Response(null, {
    headers: { dav: "1, 2", allow: METHODS.join(", "), "ms-author-via": "DAV", "content-length": "0" },
  });
}

export async function handleDav(request: Request, services: Services): Promise<Response> {
  try {
    return await dispatch(request, services);
  } catch (error) {
    const appError = databaseRefusal(error) ?? toAppError(error);
    // A Destination on another server is the client's mistake, answered 502 as RFC 4918 has it.
    if (appError.status >= 500 && appError.code !== "destination_foreign") {
      services.log.error("webdav request failed", {
        method: request.method,
        code: appError.code,
        error: describeError(appError.code === "internal" ? (appError.cause ?? appError) : appError),
      });
    }
    return davErrorResponse(appError, services.requestId);
  }
}

async function dispatch(request: Request, services: Services): Promise<Response> {
  const method = request.method.toUpperCase();
  if (!(METHODS as readonly string[]).includes(method)) {
    throw new AppError("method_not_allowed", `WebDAV answers ${METHODS.join(", ")}.`, {
      headers: { allow: METHODS.join(", ") },
    });
  }
  if (method === "OPTIONS") return options();
  const url = new URL(request.url);
  if (url.hash !== "") throw new AppError("bad_request", "A request URI cannot carry a fragment.");
  const user = await authenticateAppPassword(request, services);
  if (user.readOnly && !READING.has(method)) {
    throw new AppError("app_password_read_only", "This app password is read-only.");
  }
  // WebDAV clients send no Origin; a browser page on another site that does is refused.
  const origin = request.headers.get("origin");
  if (origin !== null && origin !== url.origin && origin !== services.env.PUBLIC_URL) {
    throw new AppError("origin_mismatch", "WebDAV requests from another site's pages are refused.");
  }
  const resource = await resolve(services, await locate(services, user, pathNames(url.pathname)));
  checkPreconditions(request, resource);
  const lists = parseIf(request.headers.get("if"));
  const ctx: DavContext = { request, services, user, resource, submitted: new Set() };
  if (lists) {
    ctx.submitted = await evaluateIf(lists, (tag) => stateOf(ctx, tag));
  }
  return HANDLERS[method as Exclude<Method, "OPTIONS">](ctx);
}

const tagsOf = (header: string) => header.split(",").map((t) => t.trim());

/**
 * If-Match and If-None-Match (RFC 9110 §13.1) against the resource's strong entity tag: a write
 * conditional on what is (or is not) there fails with 412 when it is not so. GET and HEAD answer
 * If-None-Match with 304 where the file is served.
 */
function checkPreconditions(request: Request, resource: Resource): void {
  const exists = resource.type !== "missing";
  const etag = resource.type === "file" ? `"${resource.file.sha256}"` : null;
  const ifMatch = request.headers.get("if-match");
  if (ifMatch !== null) {
    const tags = tagsOf(ifMatch);
    const holds = tags.includes("*") ? exists : etag !== null && tags.includes(etag);
    if (!holds) throw new AppError("precondition_failed", "If-Match does not hold for this resource.");
  }
  const ifNoneMatch = request.headers.get("if-none-match");
  if (ifNoneMatch !== null && request.method !== "GET" && request.method !== "HEAD") {
    const tags = tagsOf(ifNoneMatch).map((t) => t.replace(/^W\//, ""));
    const matches = tags.includes("*") ? exists : etag !== null && tags.includes(etag);
    if (matches) throw new AppError("precondition_failed", "If-None-Match holds for this resource.");
  }
}

/** The lock tokens and entity tag of the request's resource (tag null) or of a tagged resource. */
async function stateOf(ctx: DavContext, tag: string | null): Promise<ResourceState> {
  let resource: Resource = ctx.resource;
  if (tag !== null) {
    const url = (() => {
      try {
        return new URL(tag, ctx.request.url);
      } catch {
        return null;
      }
    })();
    if (!url || url.origin !== new URL(ctx.request.url).origin) return { tokens: new Set(), etag: null };
    try {
      resource = await resolve(ctx.services, await locate(ctx.services, ctx.user, pathNames(url.pathname)));
    } catch {
      return { tokens: new Set(), etag: null };
    }
  }
  const etag = resource.type === "file" ? `"${resource.file.sha256}"` : null;
  if (resource.loc.kind !== "space") return { tokens: new Set(), etag };
  const path = lockPath(resource.loc.inner);
  const locks = await locksAround(ctx.services, resource.loc.space, [path]);
  return { tokens: new Set(locks.filter((l) => covers(l, path)).map((l) => l.token)), etag };
}
