// Conformance of the local libSQL server, driven only through @libsql/client in HTTP mode.
import { type Client, createClient, LibsqlError } from "@libsql/client";
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

describe("execute", () => {
  it("creates, inserts, reads, updates and deletes rows", async () => {
    const table = tableName("crud");
    await client.execute(`CREATE TABLE ${table} (id INTEGER PRIMARY KEY, name TEXT NOT NULL)`);
    const inserted = await client.execute({ sql: `INSERT INTO ${table} (name) VALUES (?)`, args: ["alpha"] });
    expect(inserted.rowsAffected).toBe(1);
    expect(inserted.lastInsertRowid).toBe(1n);
    await client.execute({ sql: `INSERT INTO ${table} (name) VALUES (?)`, args: ["beta"] });

    const read = await client.execute(`SELECT id, name FROM ${table} ORDER BY id`);
    expect(read.columns).toEqual(["id", "name"]);
    expect(read.columnTypes).toEqual(["INTEGER", "TEXT"]);
    expect(read.rows.map((row) => [row.id, row.name])).toEqual([
      [1, "alpha"],
      [2, "beta"],
    ]);
    expect(read.rowsAffected).toBe(0);
    expect(read.lastInsertRowid).toBeUndefined();

    const updated = await client.execute({ sql: `UPDATE ${table} SET name = upper(name)`, args: [] });
    expect(updated.rowsAffected).toBe(2);
    const deleted = await client.execute({ sql: `DELETE FROM ${table} WHERE id = ?`, args: [1] });
    expect(deleted.rowsAffected).toBe(1);
    const rest = await client.execute(`SELECT name FROM ${table}`);
    expect(rest.rows.map((row) => row.name)).toEqual(["BETA"]);
  });

  it("reports rows changed by INSERT ... RETURNING along with the returned rows", async () => {
    const table = tableName("ret");
    await client.execute(`CREATE TABLE ${table} (id INTEGER PRIMARY KEY, v TEXT)`);
    const rs = await client.execute(`INSERT INTO ${table} (v) VALUES ('a'), ('b') RETURNING id`);
    expect(rs.rows.map((row) => row.id)).toEqual([1, 2]);
    expect(rs.rowsAffected).toBe(2);
    expect(rs.lastInsertRowid).toBe(2n);
  });

  it("binds positional, numbered and named arguments", async () => {
    const positional = await client.execute({ sql: "SELECT ? AS a, ? AS b", args: ["x", 2] });
    expect(positional.rows[0]).toMatchObject({ a: "x", b: 2 });
    const numbered = await client.execute({ sql: "SELECT ?2 AS a, ?1 AS b, ?2 AS c", args: [1, "two"] });
    expect(numbered.rows[0]).toMatchObject({ a: "two", b: 1, c: "two" });
    for (const prefix of [":", "@", "$"]) {
      const named = await client.execute({
        sql: `SELECT ${prefix}first AS f, ${prefix}second AS s, ${prefix}first AS again`,
        args: { first: "one", second: null },
      });
      expect(named.rows[0]).toMatchObject({ f: "one", s: null, again: "one" });
    }
    const prefixed = await client.execute({ sql: "SELECT :v AS v", args: { ":v": 7 } });
    expect(prefixed.rows[0]?.v).toBe(7);
  });

  it("keeps floats, nulls, booleans and text exact", async () => {
    const rs = await client.execute({
      sql: "SELECT ? AS f, typeof(?) AS ft, ? AS n, typeof(?) AS nt, ? AS b, ? AS s, 1.0 AS one",
      args: [0.1 + 0.2, 1.5, null, null, true, 'zażółć 🚀 "quoted" end'],
    });
    const row = rs.rows[0]!;
    expect(row.f).toBe(0.1 + 0.2);
    expect(row.ft).toBe("real");
    expect(row.n).toBeNull();
    expect(row.nt).toBe("null");
    expect(row.b).toBe(1);
    expect(row.s).toBe('zażółć 🚀 "quoted" end');
    expect(row.one).toBe(1);
    expect(typeof row.one).toBe("number");
  });

  it("round-trips integers beyond 2^53 exactly with intMode bigint", async () => {
    const big = createClient({ url: t.server.url, authToken: t.token, intMode: "bigint" });
    try {
      const table = tableName("big");
      await big.execute(`CREATE TABLE ${table} (v INTEGER)`);
      const values = [2n ** 53n + 1n, 2n ** 63n - 1n, -(2n ** 63n), -1n, 0n];
      for (const v of values) await big.execute({ sql: `INSERT INTO ${table} (v) VALUES (?)`, args: [v] });
      const rs = await big.execute(`SELECT v, typeof(v) AS t FROM ${table} ORDER BY rowid`);
      expect(rs.rows.map((row) => row.v)).toEqual(values);
      expect(rs.rows.every((row) => row.t === "integer")).toBe(true);
      const computed = await big.execute("SELECT 9007199254740993 + 1 AS v");
      expect(computed.rows[0]?.v).toBe(9007199254740994n);
    } finally {
      big.close();
    }
  });

  it("refuses to return an unsafe integer as a number in the default intMode", async () => {
    await expect(client.execute("SELECT 9007199254740993 AS v")).rejects.toThrow(RangeError);
  });

  it("round-trips a blob holding every byte value", async () => {
    const table = tableName("blob");
    const bytes = new Uint8Array(512);
    for (let i = 0; i < bytes.length; i++) bytes[i] = i % 256;
    await client.execute(`CREATE TABLE ${table} (b BLOB)`);
    await client.execute({ sql: `INSERT INTO ${table} (b) VALUES (?)`, args: [bytes] });
    const rs = await client.execute(`SELECT b, length(b) AS n, typeof(b) AS t FROM ${table}`);
    const row = rs.rows[0]!;
    expect(row.t).toBe("blob");
    expect(row.n).toBe(512);
    expect(new Uint8Array(row.b as ArrayBuffer)).toEqual(bytes);
    const empty = await client.execute({ sql: "SELECT ? AS e", args: [new Uint8Array(0)] });
    expect(new Uint8Array(empty.rows[0]?.e as ArrayBuffer)).toEqual(new Uint8Array(0));
  });

  it("answers an SQL error as an error and serves the very next request", async () => {
    const failure = await client.execute("SELECT * FROM no_such_table_here").catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(LibsqlError);
    expect((failure as LibsqlError).code).toBe("SQLITE_UNKNOWN");
    expect((failure as LibsqlError).message).toContain("no such table");
    const syntax = await client.execute("SELEC 1").catch((error: unknown) => error);
    expect((syntax as LibsqlError).code).toBe("SQL_PARSE_ERROR");
    const next = await client.execute("SELECT 42 AS answer");
    expect(next.rows[0]?.answer).toBe(42);
  });

  it("reports a constraint violation with SQLite's primary code", async () => {
    const table = tableName("uniq");
    await client.execute(`CREATE TABLE ${table} (id INTEGER PRIMARY KEY)`);
    await client.execute(`INSERT INTO ${table} VALUES (1)`);
    const failure = await client.execute(`INSERT INTO ${table} VALUES (1)`).catch((error: unknown) => error);
    expect((failure as LibsqlError).code).toBe("SQLITE_CONSTRAINT");
    expect((failure as LibsqlError).message).toContain("UNIQUE constraint failed");
  });

  it("enforces foreign keys, as sqld does", async () => {
    const parent = tableName("parent");
    const child = tableName("child");
    await client.execute(`CREATE TABLE ${parent} (id INTEGER PRIMARY KEY)`);
    await client.execute(`CREATE TABLE ${child} (p INTEGER REFERENCES ${parent}(id))`);
    const failure = await client.execute(`INSERT INTO ${child} VALUES (5)`).catch((error: unknown) => error);
    expect((failure as LibsqlError).code).toBe("SQLITE_CONSTRAINT");
  });

  it("refuses several statements in one execute and an empty one", async () => {
    const many = await client.execute("SELECT 1; SELECT 2").catch((error: unknown) => error);
    expect((many as LibsqlError).code).toBe("SQL_MANY_STATEMENTS");
    const none = await client.execute("  -- nothing\n").catch((error: unknown) => error);
    expect((none as LibsqlError).code).toBe("SQL_NO_STATEMENT");
    const trailing = await client.execute("SELECT 3 AS v; -- done");
    expect(trailing.rows[0]?.v).toBe(3);
  });
});
