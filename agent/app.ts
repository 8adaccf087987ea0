// Owns the agent's Fetch function: routing, authentication (signed requests and presigned URLs),
// CORS for browser traffic, the error envelope, request logs and metrics. Runtime glue (server.ts)
// only feeds it Requests.
import { AppError, errorResponse, toAppError } from "../shared/errors.ts";
import { isPresigned, verifyPresigned } from "../shared/protocol/presign.ts";
import { BROWSER_CORS } from "../shared/protocol/schemas.ts";
import { verifyRequest } from "../shared/protocol/signing.ts";
import type { AgentServices, Scope } from "./context.ts";
import { corsHeaders, newRequestId, normalizeOrigin, readSignedBody } from "./http.ts";
import { type Route, routes } from "./routes/index.ts";

/** The path relative to base_url: a proxy may or may not strip base_url's path prefix. */
function relativePath(url: URL, baseUrl: string | null): string {
  const prefix = baseUrl ? new URL(baseUrl).pathname.replace(/\/+$/, "") : "";
  const path =
    prefix && (url.pathname === prefix || url.pathname.startsWith(`${prefix}/`))
      ? url.pathname.slice(prefix.length) || "/"
      : url.pathname;
  return path;
}

function preflight(services: AgentServices, request: Request, matched: Route[]): Response {
  const allowed = services.state.current.enrollment?.primary_origin ?? null;
  const origin = normalizeOrigin(request.headers.get("origin") ?? "");
  if (!origin || origin !== allowed) {
    throw new AppError("cors_origin_forbidden", "This origin may not call this node.");
  }
  const method = (request.headers.get("access-control-request-method") ?? "").toUpperCase();
  const methods = matched.filter((r) => r.auth === "presignable").flatMap((r) => r.methods);
  const asked = (request.headers.get("access-control-request-headers") ?? "")
    .split(",")
    .map((h) => h.trim().toLowerCase())
    .filter(Boolean);
  const allowedHeaders: readonly string[] = BROWSER_CORS.allowed_headers;
  if (!methods.includes(method) || !asked.every((h) => allowedHeaders.includes(h))) {
    throw new AppError("forbidden", "This method or header is not allowed for browser requests.");
  }
  return new Response(null, {
    status: 204,
    headers: {
      "access-control-allow-origin": origin,
      "access-control-allow-methods": methods.join(", "),
      "access-control-allow-headers": BROWSER_CORS.allowed_headers.join(", "),
      "access-control-max-age": "3600",
      vary: "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
    },
  });
}

export function createAgentHandler(services: AgentServices): (request: Request) => Promise<Response> {
  return async (request) => {
    const requestId = newRequestId();
    const started = performance.now();
    const url = new URL(request.url);
    const path = relativePath(url, services.config.baseUrl);
    const method = request.method.toUpperCase();
    let routeName = "unknown";
    let cors: Record<string, string> = {};
    let response: Response;
    let code: string | undefined;
    try {
      await services.state.refresh();
      const matched = routes.filter((r) => r.pattern.test(path));
      if (method === "OPTIONS" && matched.some((r) => r.auth === "presignable")) {
        routeName = "preflight";
        response = preflight(services, request, matched);
      } else {
        const route = matched.find((r) => r.methods.includes(method));
        if (!route) {
          throw matched.length
            ? new AppError("method_not_allowed", "This method is not allowed here.")
            : new AppError("not_found", "No such endpoint.");
        }
        routeName = route.name;
        const params = route.pattern.exec(path)?.groups ?? {};
        const scope: Scope = {
          request,
          url,
          requestId,
          contentSha256: "",
          body: null,
          presigned: null,
          params: { ...params },
        };
        if (route.auth !== "public") {
          const presigned = route.auth === "presignable" && isPresigned(url);
          if (presigned) cors = browserCors(services, request, method);
          await authenticate(services, scope, route, path, presigned, method);
        }
        response = await route.handler(services, scope);
      }
    } catch (error) {
      const appError = toAppError(error);
      code = appError.code;
      if (appError.code === "internal") {
        services.log.error("request failed", { request_id: requestId, route: routeName }, error);
      }
      services.metrics.error(appError.code);
      response = errorResponse(appError, requestId);
    }
    for (const [name, value] of Object.entries(cors)) response.headers.set(name, value);
    response.headers.set("x-request-id", requestId);
    services.metrics.request(routeName, response.status, (performance.now() - started) / 1000);
    services.log.info("request", {
      request_id: requestId,
      method,
      route: routeName,
      path: routeName === "unknown" ? null : path,
      status: response.status,
      ms: Math.round(performance.now() - started),
      code,
    });
    return response;
  };
}

/** CORS for a presigned browser request; a foreign Origin is refused before anything else. */
function browserCors(services: AgentServices, request: Request, method: string): Record<string, string> {
  const header = request.headers.get("origin");
  if (header === null) return {};
  const allowed = services.state.current.enrollment?.primary_origin ?? null;
  const origin = normalizeOrigin(header);
  if (!origin || origin !== allowed) {
    throw new AppError("cors_origin_forbidden", "This origin may not call this node.");
  }
  return corsHeaders(origin, method);
}

async function authenticate(
  services: AgentServices,
  scope: Scope,
  route: Route,
  path: string,
  presigned: boolean,
  method: string,
): Promise<void> {
  const enrollment = services.state.current.enrollment;
  if (!enrollment) throw new AppError("agent_not_enrolled", "This agent is not enrolled with a primary yet.");
  const lookupSecret = (keyId: string) => (keyId === enrollment.key_id ? enrollment.secret : undefined);
  const now = services.now();
  if (presigned) {
    const verified = await verifyPresigned({
      method: method === "HEAD" ? "GET" : method,
      path: path + scope.url.search,
      lookupSecret,
      now,
      notBefore: method === "PUT" ? services.startedAt : undefined,
    });
    scope.presigned = { params: verified.params, expiresAt: verified.expiresAt };
    scope.contentSha256 = "UNSIGNED-PAYLOAD";
    return;
  }
  const verified = await verifyRequest({
    method,
    path: path + scope.url.search,
    headers: scope.request.headers,
    lookupSecret,
    nonces: services.nonces,
    now,
    notBefore: services.startedAt,
    allowUnsignedPayload: route.streamed === true,
  });
  scope.contentSha256 = verified.contentSha256;
  // A signed body is checked against its hash before any handler runs, whatever the method: streamed
  // bodies while they stream (bodyBounds binds the hash), every other one here, read whole and bounded,
  // also on routes that take none (an empty body has a hash too).
  if (!route.streamed) scope.body = await readSignedBody(scope.request, verified.contentSha256);
}
