// Connections are reused across streams; nothing of one stream may reach the next: not TEMP objects,
// not pragmas, not stored SQL, not a transaction, not the read-only guard.
import { type Client, createClient, type LibsqlError } from "@libsql/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer, tableName } from "../support/libsql.ts";

let t: TestServer;
let client: Client;

beforeAll(async () => {
  t = await startTestServer();
  client = createClient({ url: t.server.url, authToken: t.token });
});

afterAll(async () => {
  client.close();
  await t.stop();
});

const failureOf = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error as LibsqlError,
  );

describe("a stream after another", () => {
  it("does not see the TEMP tables of an earlier stream", async () => {
    const temp = tableName("tmp");
    await client.execute(`CREATE TEMP TABLE ${temp} (v)`);
    // Several requests, so that the pooled connection is certainly handed out again.
    for (let i = 0; i < 3; i++) {
      const failure = await failureOf(client.execute(`SELECT * FROM temp.${temp}`));
      expect(failure?.message).toContain("no such table");
    }
  });

  it("keeps foreign keys on after a stream turned them off", async () => {
    const parent = tableName("p");
    const child = tableName("c");
    await client.batch([
      `CREATE TABLE ${parent} (id INTEGER PRIMARY KEY)`,
      `CREATE TABLE ${child} (p REFERENCES ${parent}(id))`,
    ]);
    await client.execute("PRAGMA foreign_keys = OFF");
    for (let i = 0; i < 3; i++) {
      expect((await client.execute("PRAGMA foreign_keys")).rows[0]?.foreign_keys).toBe(1);
      const failure = await failureOf(client.execute(`INSERT INTO ${child} VALUES (42)`));
      expect(failure?.code).toBe("SQLITE_CONSTRAINT");
    }
  });

  it("starts in autocommit, writable, even after streams that left a transaction or read-only guard", async () => {
    const table = tableName("left");
    await client.execute(`CREATE TABLE ${table} (v)`);
    const read = await client.transaction("read");
    await read.execute(`SELECT count(*) FROM ${table}`);
    read.close();
    const write = await client.transaction("write");
    await write.execute(`INSERT INTO ${table} VALUES ('abandoned')`);
    write.close();
    for (let i = 0; i < 3; i++) {
      await client.execute({ sql: `INSERT INTO ${table} VALUES (?)`, args: [i] });
    }
    const rows = await client.execute(`SELECT v FROM ${table} ORDER BY rowid`);
    expect(rows.rows.map((row) => row.v)).toEqual([0, 1, 2]);
  });

  it("does not find SQL texts stored by an earlier stream", async () => {
    const post = async (requests: unknown[]) => {
      const response = await fetch(`${t.server.url}/v2/pipeline`, {
        method: "POST",
        headers: { authorization: `Bearer ${t.token}` },
        body: JSON.stringify({ requests }),
      });
      return (await response.json()) as { results: { type: string; error?: { code: string } }[] };
    };
    await post([{ type: "store_sql", sql_id: 7, sql: "SELECT 'stored'" }, { type: "close" }]);
    for (let i = 0; i < 3; i++) {
      const later = await post([{ type: "execute", stmt: { sql_id: 7 } }, { type: "close" }]);
      expect(later.results[0]?.error?.code).toBe("SQL_NOT_FOUND");
    }
  });
});
