// Owns the primary side of the follower-node tests: the real app (every registered route plus the
// follower-node modules) over a migrated libSQL file db, served over real HTTP on 127.0.0.1:0 so an
// agent process can redeem its token, with an admin bearer token and the scheduled follower tasks.
import { mkdtemp, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serve } from "@hono/node-server";
import { createClient } from "@libsql/client";
import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/libsql";
import { Miniflare } from "miniflare";
import type { z } from "zod";

import { startLibsqlServer } from "../../scripts/libsql-server/index.ts";

import { migrateDatabase } from "../../scripts/migrate.ts";
import { ensureAdmin } from "../../worker/accounts/bootstrap.ts";
import { createSession } from "../../worker/accounts/sessions.ts";
import { createApp } from "../../worker/app.ts";
import type { Db } from "../../worker/db/client.ts";
import * as schema from "../../worker/db/schema.ts";
import { parseEnv } from "../../worker/env.ts";
import { followerTasks } from "../../worker/followers/scheduled.ts";
import type { Route } from "../../worker/http/route.ts";
import { routes } from "../../worker/index.ts";
import type { LogRecord } from "../../worker/logger.ts";
import { ingressTargetRoutes } from "../../worker/routes/admin/ingress-targets.ts";
import { nodeRoutes } from "../../worker/routes/admin/nodes.ts";
import { policyRoutes } from "../../worker/routes/admin/policies.ts";
import { enrollmentRoutes } from "../../worker/routes/enrollment.ts";
import { createServices, type Services } from "../../worker/services.ts";
import { type Refusal, refusalOf } from "./envelopes.ts";

export const TEST_SECRET = "nodes-test-secret-0123456789-abcdefghijkl";

/** Every registered route, plus ours if worker/index.ts does not list them yet (no duplicates). */
function allRoutes(): Route[] {
  const seen = new Set(routes.map((r) => `${r.method} ${r.path}`));
  const ours = [...nodeRoutes, ...ingressTargetRoutes, ...policyRoutes, ...enrollmentRoutes];
  return [...routes, ...ours.filter((r) => !seen.has(`${r.method} ${r.path}`))];
}

export interface Primary {
  origin: string;
  db: Db;
  logs: LogRecord[];
  /** Calls the API as the admin (bearer token); `token: null` calls anonymously. */
  call(method: string, path: string, body?: unknown, options?: { token?: string | null }): Promise<Response>;
  /** Expects `status` (POST 201, else 200 by default) and parses the body with the route's schema. */
  ok<S extends z.ZodType>(
    schema: S,
    method: string,
    path: string,
    body?: unknown,
    status?: number,
  ): Promise<z.output<S>>;
  /** Expects an error envelope; returns status, code, message and details. */
  fail(method: string, path: string, body?: unknown, options?: { token?: string | null }): Promise<Refusal>;
  adminToken: string;
  userToken: string;
  /** Services as the scheduled handler gets them. */
  services(): Services;
  runFollowerTasks(): Promise<void>;
  /** Stops the libSQL server (startPrimary with libsqlServer); `start()` brings it back on the same port. */
  stopDatabase(): Promise<{ start(): Promise<void> }>;
  /** Waits for the work requests left running after their answer (waitUntil), including new ones. */
  settle(): Promise<void>;
  close(): Promise<void>;
}

export async function startPrimary(
  options: { fetch?: typeof fetch; libsqlServer?: boolean } = {},
): Promise<Primary> {
  const dir = await mkdtemp(join(tmpdir(), "flotilla-nodes-"));
  // With libsqlServer the primary talks to the local libSQL server over HTTP, as in the stack, and
  // the test may stop and start that server (restartDatabase).
  let libsql = options.libsqlServer
    ? await startLibsqlServer({ path: join(dir, "primary.db"), host: "127.0.0.1" })
    : null;
  const client = createClient({ url: libsql?.url ?? `file:${join(dir, "primary.db")}` });
  await migrateDatabase(client);
  const db = drizzle(client, { schema });
  const miniflare = new Miniflare({
    modules: true,
    script: "export default { fetch() { return new Response(null, { status: 404 }); } }",
    r2Buckets: ["FILES"],
  });
  const env: Record<string, unknown> = {
    LIBSQL_URL: `file:${join(dir, "primary.db")}`,
    FLOTILLA_SECRET: TEST_SECRET,
    FILES: await miniflare.getR2Bucket("FILES"),
  };
  const logs: LogRecord[] = [];
  const outbound = options.fetch ?? fetch;
  const deps = { db, fetch: outbound, logSink: (r: LogRecord) => void logs.push(r) };
  const app = createApp(allRoutes(), deps);
  const pending: Promise<unknown>[] = [];
  const ctx = { waitUntil: (p: Promise<unknown>) => void pending.push(p) };
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve(
      { fetch: (request) => app.fetch(request, env, ctx), hostname: "127.0.0.1", port: 0 },
      () => resolve(s),
    );
  });
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  env.PUBLIC_URL = origin;

  const tokenFor = async (username: string, role: "admin" | "user") => {
    if (role === "admin") await ensureAdmin(db, { username, password: "correct horse battery staple" });
    else {
      await db
        .insert(schema.users)
        .values({ id: `u-${username}`, username, passwordHash: "x", role: "user" });
    }
    const [user] = await db.select().from(schema.users).where(eq(schema.users.username, username));
    return (await createSession(db, { userId: user!.id, kind: "api", now: new Date() })).token;
  };
  const adminToken = await tokenFor("admin", "admin");
  const userToken = await tokenFor("plainuser", "user");

  const call: Primary["call"] = (method, path, body, o = {}) => {
    const token = o.token === undefined ? adminToken : o.token;
    const headers = new Headers();
    if (token) headers.set("authorization", `Bearer ${token}`);
    if (body !== undefined) headers.set("content-type", "application/json");
    return fetch(`${origin}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  };
  const services = () => createServices(parseEnv(env), ctx, "test-cron", deps);
  return {
    origin,
    db,
    logs,
    call,
    async ok(schema, method, path, body, status = method === "POST" ? 201 : 200) {
      const response = await call(method, path, body);
      const text = await response.text();
      if (response.status !== status)
        throw new Error(`${method} ${path}: expected ${status}, got ${response.status}: ${text}`);
      return schema.parse(JSON.parse(text));
    },
    async fail(method, path, body, o) {
      return refusalOf(await call(method, path, body, o), `${method} ${path}`);
    },
    adminToken,
    userToken,
    services,
    async runFollowerTasks() {
      for (const task of followerTasks) await task.run(services());
    },
    async stopDatabase() {
      const running = libsql;
      if (!running) throw new Error("startPrimary({ libsqlServer: true }) runs no libSQL server to stop.");
      await running.close();
      libsql = null;
      return {
        async start() {
          libsql = await startLibsqlServer({
            path: join(dir, "primary.db"),
            host: "127.0.0.1",
            port: running.port,
          });
        },
      };
    },
    async settle() {
      while (pending.length > 0) await Promise.allSettled(pending.splice(0));
    },
    async close() {
      await Promise.allSettled(pending);
      await new Promise<void>((done) => server.close(() => done()));
      client.close();
      await libsql?.close();
      await miniflare.dispose();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
