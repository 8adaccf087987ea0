// The real worker bundle in real workerd (Miniflare) reaching its database over HTTP through the local
// libSQL server, exactly as in `npm start`: /health says whether the database answers.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@libsql/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LibsqlServer, startLibsqlServer } from "../../scripts/libsql-server/index.ts";
import { migrateDatabase } from "../../scripts/migrate.ts";
import { bundleWorker, type Primary, startPrimary } from "../../scripts/stack/primary.ts";

let dir = "";
let libsql: LibsqlServer;
let primary: Primary;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "flotilla-workerd-"));
  libsql = await startLibsqlServer({ path: join(dir, "primary.db"), port: 0, authToken: "test-token" });
  const client = createClient({ url: libsql.url, authToken: "test-token" });
  await migrateDatabase(client);
  client.close();
  primary = await startPrimary({
    scriptPath: await bundleWorker(join(dir, "run")),
    host: "127.0.0.1",
    port: 0,
    stateDir: join(dir, "primary"),
    bindings: {
      LIBSQL_URL: libsql.url,
      LIBSQL_AUTH_TOKEN: "test-token",
      FLOTILLA_SECRET: "a-test-secret-that-is-long-enough-0123456789",
    },
  });
}, 120_000);

afterAll(async () => {
  await primary?.close();
  await libsql?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("the worker in workerd", () => {
  it("answers /health with the database reached through the local libSQL server", async () => {
    const response = await fetch(new URL("/health", primary.url));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ok", database: "ok" });
    expect(response.headers.get("x-request-id")).toMatch(/\S+/);
  });

  it("answers unknown API paths with the JSON error envelope", async () => {
    const response = await fetch(new URL("/api/v1/no-such-endpoint", primary.url));
    expect(response.status).toBe(404);
    const body = (await response.json()) as { error: { code: string; request_id: string } };
    expect(body.error.code).toBe("not_found");
    expect(body.error.request_id).toBe(response.headers.get("x-request-id"));
  });

  it("runs the scheduled handler without throwing", async () => {
    await expect(primary.runScheduled()).resolves.toBeUndefined();
  });

  it("reports 503 database_unavailable when the database stops answering", async () => {
    await libsql.close();
    const response = await fetch(new URL("/health", primary.url));
    expect(response.status).toBe(503);
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("database_unavailable");
    expect(body.error.message).not.toMatch(/ECONNREFUSED|127\.0\.0\.1/); // no driver text leaks
  });

  it("answers API requests with 503 database_unavailable while the database is down, not a 500", async () => {
    const answers = [
      await fetch(new URL("/api/v1/auth/me", primary.url), { headers: { authorization: "Bearer fls_x" } }),
      await fetch(new URL("/api/v1/auth/login", primary.url), {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ username: "someone", password: "something long enough" }),
      }),
    ];
    for (const response of answers) {
      const body = (await response.json()) as { error: { code: string; message: string } };
      expect([response.status, body.error.code]).toEqual([503, "database_unavailable"]);
      expect(body.error.message).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|Network/);
    }
  });
});
