// Starting, stopping and restarting the server; the port contract; the CLI; and the web client that
// the primary uses, both from Node and from inside workerd.
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@libsql/client";
import { createClient as createWebClient } from "@libsql/client/web";
import { openHttp } from "@libsql/hrana-client";
import { build } from "esbuild";
import { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLibsqlServer } from "../../scripts/libsql-server/index.ts";
import { compatibilityDate } from "../../scripts/stack/primary.ts";
import { tableName } from "../support/libsql.ts";

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "flotilla-libsql-life-"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("lifecycle", () => {
  it("keeps committed data across a restart on the same file, in WAL mode", async () => {
    const path = join(dir, "restart", "db.sqlite");
    const first = await startLibsqlServer({ path, port: 0 });
    const c1 = createClient({ url: first.url });
    await c1.batch(["CREATE TABLE kept (v TEXT)", "INSERT INTO kept VALUES ('survives')"], "write");
    const mode = await c1.execute("PRAGMA journal_mode");
    expect(mode.rows[0]?.journal_mode).toBe("wal");
    c1.close();
    await first.close();

    const second = await startLibsqlServer({ path, port: 0 });
    const c2 = createClient({ url: second.url });
    try {
      const rs = await c2.execute("SELECT v FROM kept");
      expect(rs.rows.map((row) => row.v)).toEqual(["survives"]);
    } finally {
      c2.close();
      await second.close();
    }
  });

  it("rolls back an open transaction when the server closes, and says so to the client", async () => {
    const path = join(dir, "close.db");
    const server = await startLibsqlServer({ path, port: 0 });
    const client = createClient({ url: server.url });
    await client.execute("CREATE TABLE t (v)");
    const tx = await client.transaction("write");
    await tx.execute("INSERT INTO t VALUES (1)");
    await server.close();
    await expect(tx.commit()).rejects.toThrow();
    client.close();

    const again = await startLibsqlServer({ path, port: 0 });
    const check = createClient({ url: again.url });
    try {
      expect((await check.execute("SELECT count(*) AS n FROM t")).rows[0]?.n).toBe(0);
    } finally {
      check.close();
      await again.close();
    }
  });

  it("refuses a taken port with an error naming it", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      await expect(startLibsqlServer({ path: join(dir, "taken.db"), port })).rejects.toThrow(
        new RegExp(`Port ${port} on 127.0.0.1 is already taken \\(EADDRINUSE\\)`),
      );
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it("refuses an empty token rather than serving without one", async () => {
    await expect(startLibsqlServer({ path: join(dir, "empty.db"), authToken: "" })).rejects.toThrow(/empty/);
  });

  it("refuses an in-memory database, which each stream would see as a different one", async () => {
    await expect(startLibsqlServer({ path: ":memory:" })).rejects.toThrow(/needs a database file path/);
  });

  it("runs alone from the CLI and prints its URL", async () => {
    const child = spawn(
      process.execPath,
      ["scripts/libsql-server/cli.ts", "--db", join(dir, "cli.db"), "--port", "0", "--token", "cli-token"],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = "";
        child.stdout.on("data", (chunk: Buffer) => {
          out += chunk.toString();
          const match = /libSQL: (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
          if (match) resolve(match[1]!);
        });
        child.once("exit", (code) => reject(new Error(`cli exited with ${code}: ${out}`)));
      });
      const client = createClient({ url, authToken: "cli-token" });
      expect((await client.execute("SELECT 'cli' AS v")).rows[0]?.v).toBe("cli");
      client.close();
      const denied = createClient({ url, authToken: "other" });
      await expect(denied.execute("SELECT 1")).rejects.toThrow(/UNAUTHORIZED/);
      denied.close();
    } finally {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    }
  });
});

describe("version negotiation", () => {
  it("settles a client that probes for v3 on v2, and serves it", async () => {
    const server = await startLibsqlServer({ path: join(dir, "probe.db"), port: 0, authToken: "p" });
    const client = openHttp(server.url, "p", undefined, undefined, 3);
    try {
      expect(await client.getVersion()).toBe(2);
      const stream = client.openStream();
      const row = await stream.queryRow("SELECT 'v2' AS v");
      expect(row.row?.v).toBe("v2");
      stream.close();
    } finally {
      client.close();
      await server.close();
    }
  });
});

describe("@libsql/client/web", () => {
  it("works from Node against the server", async () => {
    const server = await startLibsqlServer({ path: join(dir, "web-node.db"), port: 0, authToken: "w" });
    const client = createWebClient({ url: server.url, authToken: "w" });
    try {
      const table = tableName("webnode");
      await client.batch([`CREATE TABLE ${table} (v)`, `INSERT INTO ${table} VALUES ('ok')`], "write");
      expect((await client.execute(`SELECT v FROM ${table}`)).rows[0]?.v).toBe("ok");
    } finally {
      client.close();
      await server.close();
    }
  });

  it("works from inside workerd (Miniflare), as the primary uses it", async () => {
    const server = await startLibsqlServer({ path: join(dir, "web-workerd.db"), port: 0, authToken: "wd" });
    const bundle = await build({
      entryPoints: [new URL("./fixtures/web-client-worker.ts", import.meta.url).pathname],
      bundle: true,
      format: "esm",
      platform: "browser",
      conditions: ["workerd", "worker", "browser"],
      write: false,
      logLevel: "silent",
    });
    const mf = new Miniflare({
      modules: true,
      script: bundle.outputFiles[0]!.text,
      compatibilityDate,
      bindings: { LIBSQL_URL: server.url, LIBSQL_AUTH_TOKEN: "wd" },
    });
    try {
      const response = await mf.dispatchFetch(`http://worker/?table=${tableName("workerd")}`);
      const body = await response.text();
      expect(response.status, body).toBe(200);
      expect(JSON.parse(body)).toEqual([
        { v: "from workerd", b: "00FF" },
        { v: "second", b: "" },
        { v: "in tx", b: "" },
      ]);
    } finally {
      await mf.dispose();
      await server.close();
    }
  });
});
