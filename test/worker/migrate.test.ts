// The migrate command and the worker's own HTTP database path, against the local libSQL server
// (Hrana over HTTP, what Turso/sqld speak) and against a file.
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { createClient } from "@libsql/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LibsqlServer, startLibsqlServer } from "../../scripts/libsql-server/index.ts";
import { createApp } from "../../worker/app.ts";
import { routes } from "../../worker/index.ts";
import { errorCode } from "../support/envelopes.ts";
import { createHarness, type Harness, TEST_SECRET } from "../support/primary.ts";

const run = promisify(execFile);
const migrateScript = join(import.meta.dirname, "../../scripts/migrate.ts");

function migrate(env: Record<string, string>) {
  return run(process.execPath, [migrateScript], { env: { PATH: process.env.PATH ?? "", ...env } }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  );
}

async function tableNames(url: string, authToken?: string): Promise<string[]> {
  const client = createClient(authToken ? { url, authToken } : { url });
  try {
    const result = await client.execute("select name from sqlite_master where type = 'table' order by name");
    return result.rows.map((row) => String(row.name));
  } finally {
    client.close();
  }
}

describe("db:migrate and the worker's HTTP database path", () => {
  let dir: string;
  let server: LibsqlServer;
  const token = "test-libsql-token-123456";
  let harness: Harness;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "flotilla-migrate-"));
    server = await startLibsqlServer({ path: join(dir, "remote.db"), authToken: token });
    harness = await createHarness();
  });
  afterAll(async () => {
    await harness.close();
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("migrates a remote libSQL URL with an auth token, idempotently", async () => {
    const first = await migrate({ LIBSQL_URL: server.url, LIBSQL_AUTH_TOKEN: token });
    expect(first.code, first.stderr).toBe(0);
    const second = await migrate({ LIBSQL_URL: server.url, LIBSQL_AUTH_TOKEN: token });
    expect(second.code, second.stderr).toBe(0);
    expect(await tableNames(server.url, token)).toEqual(
      expect.arrayContaining(["users", "sessions", "follower_nodes", "ingress_targets", "policy_groups"]),
    );
  });

  it("fails clearly with a wrong auth token and without LIBSQL_URL", async () => {
    const wrong = await migrate({ LIBSQL_URL: server.url, LIBSQL_AUTH_TOKEN: "wrong-token" });
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/Migration failed/);
    expect(wrong.stderr).not.toContain("wrong-token");
    const missing = await migrate({});
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("LIBSQL_URL");
  });

  it("migrates a file: URL", async () => {
    const url = `file:${join(dir, "local.db")}`;
    const result = await migrate({ LIBSQL_URL: url });
    expect(result.code, result.stderr).toBe(0);
    expect(await tableNames(url)).toContain("policy_group_rules");
  });

  it("serves /health through @libsql/client/web when no db is injected", async () => {
    await migrate({ LIBSQL_URL: server.url, LIBSQL_AUTH_TOKEN: token });
    const app = createApp(routes, { logSink: () => {} });
    const env = {
      ...harness.env,
      LIBSQL_URL: server.url,
      LIBSQL_AUTH_TOKEN: token,
      FLOTILLA_SECRET: TEST_SECRET,
    };
    const ok = await app.fetch(new Request("http://primary.test/health"), env, { waitUntil: () => {} });
    expect(ok.status).toBe(200);
    const denied = await app.fetch(
      new Request("http://primary.test/health"),
      { ...env, LIBSQL_AUTH_TOKEN: "wrong-token" },
      { waitUntil: () => {} },
    );
    expect(denied.status).toBe(503);
    expect(await errorCode(denied)).toBe("database_unavailable");
  });

  it("refuses a file: URL in the worker itself with config_invalid", async () => {
    const app = createApp(routes, { logSink: () => {} });
    const response = await app.fetch(new Request("http://primary.test/health"), harness.env, {
      waitUntil: () => {},
    });
    expect(response.status).toBe(500);
    expect(await errorCode(response)).toBe("config_invalid");
  });
});

describe("scripts/create-admin.ts", () => {
  const script = join(import.meta.dirname, "../../scripts/create-admin.ts");
  const runScript = (args: string[], env: Record<string, string>) =>
    run(process.execPath, [script, ...args], { env: { PATH: process.env.PATH ?? "", ...env } }).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );

  it("creates the admin with a generated password shown once, then changes nothing", async () => {
    const dir = await mkdtemp(join(tmpdir(), "flotilla-admin-"));
    try {
      const url = `file:${join(dir, "p.db")}`;
      expect((await migrate({ LIBSQL_URL: url })).code).toBe(0);
      const first = await runScript(["ops"], { LIBSQL_URL: url });
      expect(first.code, first.stderr).toBe(0);
      const password = /Password \(shown once\): (\S+)/.exec(first.stdout)?.[1];
      expect(password?.length).toBeGreaterThanOrEqual(16);
      const again = await runScript(["ops"], {
        LIBSQL_URL: url,
        FLOTILLA_ADMIN_PASSWORD: "another password!",
      });
      expect(again.stdout).toContain("already exists");
      const given = await runScript(["ops2"], {
        LIBSQL_URL: url,
        FLOTILLA_ADMIN_PASSWORD: "given password 123",
      });
      expect(given.stdout).toContain("FLOTILLA_ADMIN_PASSWORD");
      expect(given.stdout).not.toContain("given password 123");
      const client = createClient({ url });
      const rows = await client.execute("select username, role from users order by username");
      client.close();
      expect(rows.rows.map((r) => [r.username, r.role])).toEqual([
        ["ops", "admin"],
        ["ops2", "admin"],
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    // Four Node processes (a migration and three script runs, each hashing a password) in series: on
    // a loaded machine that takes longer than the suite's default.
  }, 120_000);
});
