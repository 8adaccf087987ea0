// Owns the primary's Fetch core: (Request, env, ctx) -> Response. Validates env, builds per-request
// services, routes through itty-router over the declared route table (WebDAV under /dav/ goes to its
// own handler beside it), and answers every failure with the one error envelope. Runtime entry points
// (worker/index.ts, tests, the launcher) stay thin.
import { Router } from "itty-router";
import { randomId } from "../shared/crypto.ts";
import { AppError, errorResponse, toAppError } from "../shared/errors.ts";
import { databaseRefusal } from "./db/constraints.ts";
import { type Env, parseEnv, type RawEnv } from "./env.ts";
import type { Route } from "./http/route.ts";
import { createLogger, describeError, type Logger } from "./logger.ts";
import { type AppDeps, createServices, type Services, type WorkerContext } from "./services.ts";
import { handleDav } from "./webdav/handler.ts";
import { isDavPath } from "./webdav/paths.ts";

export interface App {
  routes: readonly Route[];
  fetch(request: Request, env: RawEnv, ctx: WorkerContext): Promise<Response>;
}

type RoutedRequest = Request & { params: Record<string, string> };

/** The request path as logged: a share link's token is its credential and never reaches the logs. */
export function loggablePath(request: Request): string {
  return new URL(request.url).pathname.replace(/^(\/api\/v1\/public\/shares\/)[^/]+/, "$1:token");
}

/** Our own catch: AppError and zod failures become the envelope; anything else a logged generic 500. */
function failure(error: unknown, request: Request, requestId: string, log: Logger): Response {
  const appError = databaseRefusal(error) ?? toAppError(error);
  if (appError.status >= 500) {
    log.error("request failed", {
      method: request.method,
      path: loggablePath(request),
      code: appError.code,
      error: describeError(appError.code === "internal" ? (appError.cause ?? appError) : appError),
    });
  }
  return errorResponse(appError, requestId);
}

function buildRouter(routes: readonly Route[]) {
  const router = Router<RoutedRequest, [Services]>({
    catch: (error, request, services) => failure(error, request, services.requestId, services.log),
  });
  for (const route of routes) {
    const register = {
      GET: router.get,
      POST: router.post,
      PUT: router.put,
      PATCH: router.patch,
      DELETE: router.delete,
    }[route.method];
    register(route.path, (request, services) => route.run(request, request.params, services));
    if (route.method === "GET") {
      // HEAD answers like GET without the body (RFC 9110); the GET body is cancelled, never read.
      router.head(route.path, async (request, services) => {
        const response = await route.run(request, request.params, services);
        await response.body?.cancel();
        return new Response(null, response);
      });
    }
  }
  // Nothing matched: 405 with Allow when the path exists under another method, else 404.
  router.all("*", (request) => {
    const { pathname } = new URL(request.url);
    const allowed = [
      ...new Set(router.routes.filter(([m, p]) => m !== "ALL" && p.test(pathname)).map(([m]) => m)),
    ];
    if (allowed.length > 0) {
      throw new AppError("method_not_allowed", `Use ${allowed.join(", ")} on this path.`, {
        headers: { allow: allowed.join(", ") },
      });
    }
    throw new AppError("not_found", "No such endpoint.");
  });
  return router;
}

/** Request bodies up to this size that no handler read are read to the end before answering. */
const DRAIN_LIMIT_BYTES = 64 * 1024;

/**
 * Reads to the end a small request body that nothing consumed (a route without a body that was sent
 * `{}`, a refusal before the body was parsed). workerd closes a keep-alive connection whose request
 * body was left unread, and a client that sends its next request on that connection meanwhile gets a
 * reset it cannot safely retry (a POST). Large or unsized bodies are left alone: closing is cheaper
 * than reading them.
 */
async function drainUnread(request: Request): Promise<void> {
  const body = request.body;
  if (!body || request.bodyUsed || body.locked) return;
  // The client holds the body back until it hears 100 Continue, which a refusal never sends.
  if (/100-continue/i.test(request.headers.get("expect") ?? "")) return;
  const declared = Number(request.headers.get("content-length") ?? Number.NaN);
  if (!Number.isFinite(declared) || declared > DRAIN_LIMIT_BYTES) return;
  await request.arrayBuffer().catch(() => undefined);
}

/** Headers every answer carries: the request id, nosniff, and no caching of API JSON (tokens, accounts). */
function finish(response: Response, requestId: string): Response {
  // A WebSocket upgrade (a follower's channel) is handed back untouched: a copy would lose its socket.
  if (response.status === 101) return response;
  const out = new Response(response.body, response);
  out.headers.set("x-request-id", requestId);
  if (!out.headers.has("x-content-type-options")) out.headers.set("x-content-type-options", "nosniff");
  const json = (out.headers.get("content-type") ?? "").startsWith("application/json");
  if (json && !out.headers.has("cache-control")) out.headers.set("cache-control", "no-store");
  return out;
}

export function createApp(routes: readonly Route[], deps: AppDeps = {}): App {
  const router = buildRouter(routes);
  // A Worker's bindings stay as they are while its isolate lives: each env object is validated once
  // (a few percent of a small request's CPU time otherwise); one that fails is validated again.
  const parsed = new WeakMap<RawEnv, Env>();
  const envOf = (raw: RawEnv) => {
    const known = parsed.get(raw);
    if (known) return known;
    const env = Object.freeze(parseEnv(raw));
    parsed.set(raw, env);
    return env;
  };
  return {
    routes,
    async fetch(request, rawEnv, ctx) {
      const requestId = randomId();
      let response: Response;
      try {
        const services = createServices(envOf(rawEnv), ctx, requestId, deps);
        response = isDavPath(new URL(request.url).pathname)
          ? await handleDav(request, services)
          : ((await router.fetch(request as RoutedRequest, services)) as Response);
      } catch (error) {
        response = failure(error, request, requestId, createLogger(requestId, deps.logSink));
      }
      await drainUnread(request);
      return finish(response, requestId);
    },
  };
}
