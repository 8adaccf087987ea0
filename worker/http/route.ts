// Owns the route contract: each endpoint is declared once with its method, path, access level and zod
// schemas. The same table builds the router, the authorization tests and the OpenAPI document, so an
// endpoint cannot exist without a declared access level and documented shapes.
import type { z } from "zod";
import { AppError } from "../../shared/errors.ts";
import {
  type AuthReads,
  type AuthUser,
  authenticate,
  authenticateWith,
  checkOrigin,
  readCredential,
  requireAdmin,
  requireUser,
} from "../accounts/auth.ts";
import type { RawAnswer, RawBody, RequestHeaders } from "../api/wire.ts";
import type { Services } from "../services.ts";

export type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
/** public: anyone; user: any logged-in, enabled account; admin: role admin. */
export type Access = "public" | "user" | "admin";

const MAX_JSON_BODY_BYTES = 1024 * 1024;

export interface HandlerContext<A extends Access, P, Q, B> {
  request: Request;
  services: Services;
  user: A extends "public" ? null : AuthUser;
  params: P;
  query: Q;
  body: B;
  /** Headers added to the success response (e.g. Set-Cookie). */
  headers: Headers;
  /** The rows of the route's `authReads`, in order (empty without them). */
  authRows: unknown[];
}

export interface RouteSpec<
  A extends Access,
  P extends z.ZodType,
  Q extends z.ZodType,
  B extends z.ZodType,
  R extends z.ZodType,
> {
  method: Method;
  /** itty-router pattern, e.g. `/api/v1/admin/users/:id`. */
  path: string;
  access: A;
  summary: string;
  tag: string;
  params?: P;
  query?: Q;
  body?: B;
  /** Success body; omitted means 204 No Content. Output is parsed, so unknown fields never leak. */
  response?: R;
  /** Success status (default 200, or 204 without a response schema). */
  status?: number;
  /** The answers a handler returning its own Response gives; required for such a route. */
  raw?: RawAnswer[];
  rawBody?: RawBody;
  requestHeaders?: RequestHeaders;
  /**
   * A route's first reads, sent in authentication's round trip (accounts/auth.ts authenticateWith);
   * its params, query and body are parsed first. Not for public routes.
   */
  authReads?: (
    ctx: { services: Services; params: z.output<P>; query: z.output<Q>; body: z.output<B> },
    userId: Parameters<AuthReads>[0],
  ) => ReturnType<AuthReads>;
  /** Returns the response body (validated by `response`) or a ready Response (streams, redirects). */
  handler: (
    ctx: HandlerContext<A, z.output<P>, z.output<Q>, z.output<B>>,
  ) => Promise<z.input<R> | Response> | Promise<void>;
}

/** A declared endpoint with its generics erased; what the router, tests and OpenAPI consume. */
export interface Route {
  method: Method;
  path: string;
  access: Access;
  summary: string;
  tag: string;
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
  response?: z.ZodType;
  status: number;
  raw?: RawAnswer[];
  rawBody?: RawBody;
  requestHeaders?: RequestHeaders;
  run: (request: Request, params: Record<string, string>, services: Services) => Promise<Response>;
}

/** Reads at most `limit` bytes of the body; a larger body is refused without reading the rest. */
async function readBounded(request: Request, limit: number): Promise<string> {
  if (!request.body) return "";
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel();
      throw new AppError("payload_too_large", "The JSON body is too large.");
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder().decode(bytes);
}

async function readJson(request: Request): Promise<unknown> {
  const type = request.headers.get("content-type") ?? "";
  if (!/^application\/(.+\+)?json\b/i.test(type)) {
    throw new AppError("bad_request", "The request body must be JSON (Content-Type: application/json).");
  }
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > MAX_JSON_BODY_BYTES) throw new AppError("payload_too_large", "The JSON body is too large.");
  const text = await readBounded(request, MAX_JSON_BODY_BYTES);
  try {
    return JSON.parse(text);
  } catch {
    throw new AppError("bad_request", "The request body is not valid JSON.");
  }
}

/** Adds the handler's ctx.headers (e.g. Set-Cookie) to a Response it built itself. */
function withHeaders(response: Response, extra: Headers): Response {
  const cookies = extra.getSetCookie();
  const others = [...extra].filter(([name]) => name !== "set-cookie");
  if (cookies.length === 0 && others.length === 0) return response;
  const out = new Response(response.body, response);
  for (const [name, value] of others) out.headers.set(name, value);
  for (const cookie of cookies) out.headers.append("set-cookie", cookie);
  return out;
}

function queryObject(request: Request): Record<string, string> {
  return Object.fromEntries(new URL(request.url).searchParams);
}

async function resolveCaller(access: Access, request: Request, services: Services): Promise<AuthUser | null> {
  if (access === "public") {
    // Public writes (login) still refuse a foreign browser origin, so login CSRF cannot work.
    if (request.headers.has("origin")) checkOrigin(request, services);
    return null;
  }
  return allowed(access, await authenticate(request, services));
}

const allowed = (access: Access, user: AuthUser | null) =>
  access === "admin" ? requireAdmin(user) : requireUser(user);

export function defineRoute<
  A extends Access,
  P extends z.ZodType = z.ZodType<Record<string, string>>,
  Q extends z.ZodType = z.ZodType<Record<string, string>>,
  B extends z.ZodType = z.ZodUndefined,
  R extends z.ZodType = z.ZodUndefined,
>(spec: RouteSpec<A, P, Q, B, R>): Route {
  const status = spec.status ?? (spec.response ? 200 : 204);
  return {
    method: spec.method,
    path: spec.path,
    access: spec.access,
    summary: spec.summary,
    tag: spec.tag,
    params: spec.params,
    query: spec.query,
    body: spec.body,
    response: spec.response,
    status,
    raw: spec.raw,
    rawBody: spec.rawBody,
    requestHeaders: spec.requestHeaders,
    async run(request, rawParams, services) {
      const parse = async () => ({
        params: spec.params ? spec.params.parse(rawParams) : rawParams,
        query: spec.query ? spec.query.parse(queryObject(request)) : queryObject(request),
        body: spec.body ? spec.body.parse(await readJson(request)) : undefined,
      });
      let user: AuthUser | null;
      let parsed: Awaited<ReturnType<typeof parse>>;
      let authRows: unknown[] = [];
      const reads = spec.authReads;
      if (reads && spec.access !== "public") {
        // Nothing is read for a request without a credential, and a request that fails to parse
        // is answered as authentication would answer it first.
        if (!readCredential(request)) requireUser(null);
        try {
          parsed = await parse();
        } catch (error) {
          await resolveCaller(spec.access, request, services);
          throw error;
        }
        const done = await authenticateWith(request, services, (userId) =>
          reads({ services, ...parsed } as Parameters<typeof reads>[0], userId),
        );
        user = allowed(spec.access, done.user);
        authRows = done.rows;
      } else {
        user = await resolveCaller(spec.access, request, services);
        parsed = await parse();
      }
      const { params, query, body } = parsed;
      const headers = new Headers();
      const ctx = { request, services, user, params, query, body, headers, authRows } as HandlerContext<
        A,
        z.output<P>,
        z.output<Q>,
        z.output<B>
      >;
      const result = await spec.handler(ctx);
      if (result instanceof Response) {
        // An undeclared raw answer would be missing from the OpenAPI document; any test of it fails.
        if (!spec.raw) {
          throw new AppError("internal", "Internal error.", {
            cause: new Error(`${spec.method} ${spec.path} answers a Response but declares no raw answers`),
          });
        }
        return withHeaders(result, headers);
      }
      if (!spec.response) return new Response(null, { status, headers });
      const output = spec.response.safeParse(result);
      if (!output.success) {
        throw new AppError("internal", "Internal error.", {
          cause: new Error(`response of ${spec.method} ${spec.path} does not match its schema`, {
            cause: output.error,
          }),
        });
      }
      headers.set("content-type", "application/json; charset=utf-8");
      return new Response(JSON.stringify(output.data), { status, headers });
    },
  };
}
