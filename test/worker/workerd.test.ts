// The primary as it really runs: bundled like a deploy, inside workerd (Miniflare), talking to libSQL
// over HTTP through the local libSQL server. Proves the WebCrypto KDF, router, zod and drizzle web
// client work in workerd, not only in Node.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@libsql/client";
import { drizzle } from "drizzle-orm/libsql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LibsqlServer, startLibsqlServer } from "../../scripts/libsql-server/index.ts";
import { migrateDatabase } from "../../scripts/migrate.ts";
import { bundleWorker, type Primary, startPrimary } from "../../scripts/stack/primary.ts";
import { ensureAdmin, ensureDefaults } from "../../worker/accounts/bootstrap.ts";
import { TEST_SECRET } from "./harness.ts";

describe("primary inside workerd", () => {
  let dir: string;
  let libsql: LibsqlServer;
  let primary: Primary;
  let base: string;
  const token = "workerd-libsql-token-1234";
  const password = "workerd admin password";

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "flotilla-workerd-"));
    libsql = await startLibsqlServer({ path: join(dir, "primary.db"), authToken: token });
    const client = createClient({ url: libsql.url, authToken: token });
    await migrateDatabase(client);
    await ensureDefaults(drizzle(client));
    await ensureAdmin(drizzle(client), { username: "admin", password });
    client.close();
    primary = await startPrimary({
      scriptPath: await bundleWorker(join(dir, "build")),
      host: "127.0.0.1",
      port: 0,
      stateDir: join(dir, "state"),
      bindings: { LIBSQL_URL: libsql.url, LIBSQL_AUTH_TOKEN: token, FLOTILLA_SECRET: TEST_SECRET },
    });
    base = primary.url.origin;
  });
  afterAll(async () => {
    await primary?.close();
    await libsql?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("answers /health with the database reached over HTTP", async () => {
    const response = await fetch(`${base}/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ok", database: "ok" });
  });

  it("logs in with the PBKDF2 password and uses the session cookie", async () => {
    const login = await fetch(`${base}/api/v1/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: base },
      body: JSON.stringify({ username: "admin", password }),
    });
    expect(login.status).toBe(200);
    const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0]!;
    const me = await fetch(`${base}/api/v1/auth/me`, { headers: { cookie } });
    expect(me.status).toBe(200);
    expect(((await me.json()) as { user: { role: string } }).user.role).toBe("admin");
    const groups = await fetch(`${base}/api/v1/admin/policy-groups`, { headers: { cookie } });
    expect(
      ((await groups.json()) as { policy_groups: { name: string }[] }).policy_groups.map((g) => g.name),
    ).toContain("Default");
  });

  it("serves the OpenAPI document", async () => {
    const response = await fetch(`${base}/api/v1/openapi.json`);
    expect(response.status).toBe(200);
    expect(((await response.json()) as { openapi: string }).openapi).toBe("3.1.0");
  });

  it("runs the scheduled handler", async () => {
    await expect(primary.runScheduled()).resolves.toBeUndefined();
  });
});
