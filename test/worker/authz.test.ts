// Route-table-driven authorization: every route the router is built from is checked here, so a new
// route cannot escape. Admin routes: anonymous 401, user 403, admin passes the guard. User routes:
// anonymous 401, user passes. Public routes live under /api/v1/public/ (token-addressed resources such
// as share links) or are listed explicitly below.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSession } from "../../worker/accounts/sessions.ts";
import { routes } from "../../worker/index.ts";
import { errorCode } from "../support/envelopes.ts";
import { createHarness, type Harness, seedUser } from "../support/primary.ts";

/** Every public route, on purpose. Adding a public route means adding it here. */
const PUBLIC_ROUTES = new Set([
  "GET /health",
  "GET /api/v1/openapi.json",
  "POST /api/v1/auth/login",
  "POST /api/v1/enrollment/redeem",
  "GET /api/v1/public/shares/:token",
  "POST /api/v1/public/shares/:token/unlock",
  "GET /api/v1/public/shares/:token/items",
  "GET /api/v1/public/shares/:token/content",
  "GET /api/v1/public/shares/:token/files/:id/content",
  "GET /api/v1/public/shares/:token/preview",
  "GET /api/v1/public/shares/:token/files/:id/preview",
  // A follower's agent asking how it is reached and opening its channel: no user session, signed
  // with the node's own key instead (checked below).
  "GET /api/v2/agent/connectivity",
  "GET /api/v2/agent/channel",
]);

/** Public routes whose caller is a follower's agent, authenticated by the node's signature. */
const AGENT_ROUTES = ["/api/v2/agent/connectivity", "/api/v2/agent/channel"];

const concrete = (path: string) => path.replace(/:(\w+)/g, "0123456789abcdef0123456789abcdef");
const label = (route: { method: string; path: string }) => `${route.method} ${route.path}`;

describe("authorization over the route table", () => {
  let h: Harness;
  let userId: string;
  let adminId: string;
  const fresh = async (id: string) =>
    (await createSession(h.db, { userId: id, kind: "api", now: new Date() })).token;

  beforeAll(async () => {
    h = await createHarness();
    userId = (await seedUser(h, "user")).user.id;
    adminId = (await seedUser(h, "admin")).user.id;
  });
  afterAll(async () => {
    await h.close();
  });

  it("has routes, unique by method and path", () => {
    expect(routes.length).toBeGreaterThan(10);
    expect(new Set(routes.map(label)).size).toBe(routes.length);
  });

  it("lists every public route explicitly", () => {
    for (const route of routes.filter((r) => r.access === "public"))
      expect(PUBLIC_ROUTES).toContain(label(route));
  });

  for (const path of AGENT_ROUTES) {
    it(`GET ${path}: a caller without the node's signature gets 401 auth_missing, a user's token too`, async () => {
      const anonymous = await h.call("GET", path);
      expect(anonymous.status).toBe(401);
      expect(await errorCode(anonymous)).toBe("auth_missing");
      const user = await h.call("GET", path, { token: await fresh(adminId) });
      expect(user.status).toBe(401);
      expect(await errorCode(user)).toBe("auth_missing");
    });
  }

  it("marks every /api/v1/admin route admin-only", () => {
    for (const route of routes.filter((r) => r.path.startsWith("/api/v1/admin/"))) {
      expect(route.access, label(route)).toBe("admin");
    }
  });

  for (const route of routes.filter((r) => r.access !== "public")) {
    const path = concrete(route.path);
    const body = route.method === "GET" || route.method === "DELETE" ? undefined : {};

    it(`${label(route)}: anonymous gets 401`, async () => {
      const response = await h.call(route.method, path, { body });
      expect(response.status).toBe(401);
      expect(await errorCode(response)).toBe("unauthorized");
    });

    if (route.access === "admin") {
      it(`${label(route)}: a user gets 403 admin_required`, async () => {
        const response = await h.call(route.method, path, { body, token: await fresh(userId) });
        expect(response.status).toBe(403);
        expect(await errorCode(response)).toBe("admin_required");
      });
    } else {
      it(`${label(route)}: a user passes the guard`, async () => {
        const response = await h.call(route.method, path, { body, token: await fresh(userId) });
        expect([401, 403]).not.toContain(response.status);
      });
    }

    it(`${label(route)}: an admin passes the guard`, async () => {
      const response = await h.call(route.method, path, { body, token: await fresh(adminId) });
      expect([401, 403]).not.toContain(response.status);
    });

    if (route.method !== "GET") {
      it(`${label(route)}: a cookie write from a foreign origin gets 403 origin_mismatch`, async () => {
        const cookie = `flotilla_session=${await fresh(adminId)}`;
        const response = await h.call(route.method, path, { body, cookie, origin: "https://evil.example" });
        expect(response.status).toBe(403);
        expect(await errorCode(response)).toBe("origin_mismatch");
      });
    }
  }
});
