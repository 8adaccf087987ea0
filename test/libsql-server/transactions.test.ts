// Batches, interactive transactions, scripts and concurrent writers, through @libsql/client.
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

async function count(table: string): Promise<number> {
  const rs = await client.execute(`SELECT count(*) AS n FROM ${table}`);
  return Number(rs.rows[0]?.n);
}

describe("batch", () => {
  it("commits all statements and returns one result set each", async () => {
    const table = tableName("batch");
    const results = await client.batch(
      [
        `CREATE TABLE ${table} (id INTEGER PRIMARY KEY, v TEXT UNIQUE)`,
        { sql: `INSERT INTO ${table} (v) VALUES (?)`, args: ["a"] },
        { sql: `INSERT INTO ${table} (v) VALUES (:v)`, args: { v: "b" } },
        `SELECT v FROM ${table} ORDER BY id`,
      ],
      "write",
    );
    expect(results).toHaveLength(4);
    expect(results[1]?.lastInsertRowid).toBe(1n);
    expect(results[3]?.rows.map((row) => row.v)).toEqual(["a", "b"]);
    expect(await count(table)).toBe(2);
  });

  it("rolls the whole batch back when one step fails", async () => {
    const table = tableName("atomic");
    await client.execute(`CREATE TABLE ${table} (v TEXT UNIQUE)`);
    await client.execute(`INSERT INTO ${table} VALUES ('taken')`);
    const failure = await client
      .batch(
        [
          `INSERT INTO ${table} VALUES ('first')`,
          `INSERT INTO ${table} VALUES ('second')`,
          `INSERT INTO ${table} VALUES ('taken')`,
          `INSERT INTO ${table} VALUES ('never')`,
        ],
        "write",
      )
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(LibsqlError);
    expect((failure as LibsqlError).code).toBe("SQLITE_CONSTRAINT");
    const rs = await client.execute(`SELECT v FROM ${table}`);
    expect(rs.rows.map((row) => row.v)).toEqual(["taken"]);
  });

  it("runs deferred and read batches too", async () => {
    const table = tableName("modes");
    await client.batch([`CREATE TABLE ${table} (v)`, `INSERT INTO ${table} VALUES (1)`], "deferred");
    const read = await client.batch([`SELECT v FROM ${table}`], "read");
    expect(read[0]?.rows[0]?.v).toBe(1);
  });

  it("applies migrations with client.migrate (foreign keys off for the batch)", async () => {
    const parent = tableName("mparent");
    const child = tableName("mchild");
    await client.migrate([
      `CREATE TABLE ${parent} (id INTEGER PRIMARY KEY)`,
      `CREATE TABLE ${child} (p INTEGER REFERENCES ${parent}(id))`,
      `INSERT INTO ${child} VALUES (9)`,
    ]);
    expect(await count(child)).toBe(1);
    const fk = await client.execute("PRAGMA foreign_keys");
    expect(fk.rows[0]?.foreign_keys).toBe(1);
  });
});

describe("interactive transactions", () => {
  it("commits what it wrote, invisible to others until then", async () => {
    const table = tableName("tx");
    await client.execute(`CREATE TABLE ${table} (v)`);
    const tx = await client.transaction("write");
    await tx.execute({ sql: `INSERT INTO ${table} VALUES (?)`, args: [1] });
    await tx.batch([`INSERT INTO ${table} VALUES (2)`, `INSERT INTO ${table} VALUES (3)`]);
    const inside = await tx.execute(`SELECT count(*) AS n FROM ${table}`);
    expect(inside.rows[0]?.n).toBe(3);
    expect(await count(table)).toBe(0);
    await tx.commit();
    expect(await count(table)).toBe(3);
  });

  it("rolls back on request and keeps nothing", async () => {
    const table = tableName("rb");
    await client.execute(`CREATE TABLE ${table} (v)`);
    const tx = await client.transaction("write");
    await tx.execute(`INSERT INTO ${table} VALUES (1)`);
    await tx.rollback();
    expect(await count(table)).toBe(0);
    expect(tx.closed).toBe(true);
  });

  it("survives a failing statement inside and still commits the rest", async () => {
    const table = tableName("txerr");
    await client.execute(`CREATE TABLE ${table} (v UNIQUE)`);
    const tx = await client.transaction("write");
    await tx.execute(`INSERT INTO ${table} VALUES (1)`);
    await expect(tx.execute(`INSERT INTO ${table} VALUES (1)`)).rejects.toThrow(/UNIQUE/);
    await tx.execute(`INSERT INTO ${table} VALUES (2)`);
    await tx.commit();
    expect(await count(table)).toBe(2);
  });

  it("refuses writes in a read transaction, as sqld does", async () => {
    const table = tableName("read");
    await client.execute(`CREATE TABLE ${table} (v)`);
    await client.execute(`INSERT INTO ${table} VALUES (1)`);
    const tx = await client.transaction("read");
    expect((await tx.execute(`SELECT count(*) AS n FROM ${table}`)).rows[0]?.n).toBe(1);
    const failure = await tx.execute(`INSERT INTO ${table} VALUES (2)`).catch((error: unknown) => error);
    expect((failure as LibsqlError).code).toBe("SQLITE_READONLY");
    await tx.commit();
    const batch = await client
      .batch([`INSERT INTO ${table} VALUES (3)`], "read")
      .catch((error: unknown) => error);
    expect((batch as LibsqlError).code).toBe("SQLITE_READONLY");
    expect(await count(table)).toBe(1);
  });

  it("runs a script inside a transaction with executeMultiple", async () => {
    const table = tableName("txscript");
    await client.execute(`CREATE TABLE ${table} (v)`);
    const tx = await client.transaction("write");
    await tx.executeMultiple(`INSERT INTO ${table} VALUES (1); INSERT INTO ${table} VALUES (2);`);
    await tx.rollback();
    expect(await count(table)).toBe(0);
  });
});

describe("executeMultiple", () => {
  it("runs every statement of a script, triggers included", async () => {
    const table = tableName("script");
    await client.executeMultiple(`
      -- a comment; with a semicolon
      CREATE TABLE ${table} (id INTEGER PRIMARY KEY, v TEXT, log TEXT);
      CREATE TRIGGER ${table}_t AFTER INSERT ON ${table} BEGIN
        UPDATE ${table} SET log = 'seen;' || new.v WHERE id = new.id;
      END;
      INSERT INTO ${table} (v) VALUES ('a;b');
      /* block; comment */ INSERT INTO ${table} (v) VALUES ('c');
    `);
    const rs = await client.execute(`SELECT v, log FROM ${table} ORDER BY id`);
    expect(rs.rows.map((row) => [row.v, row.log])).toEqual([
      ["a;b", "seen;a;b"],
      ["c", "seen;c"],
    ]);
  });

  it("stops at the first failing statement and reports it", async () => {
    const table = tableName("scriptfail");
    const failure = await client
      .executeMultiple(
        `CREATE TABLE ${table} (v); INSERT INTO nope VALUES (1); INSERT INTO ${table} VALUES (1);`,
      )
      .catch((error: unknown) => error);
    expect((failure as LibsqlError).message).toContain("no such table: nope");
    expect(await count(table)).toBe(0);
  });
});

describe("several clients at once", () => {
  it("serialize concurrent write batches and interactive transactions without losing a row", async () => {
    const table = tableName("conc");
    await client.execute(`CREATE TABLE ${table} (client INTEGER, n INTEGER)`);
    const clients = Array.from({ length: 6 }, () => createClient({ url: t.server.url, authToken: t.token }));
    try {
      await Promise.all(
        clients.map(async (c, index) => {
          for (let n = 0; n < 10; n++) {
            if (n % 2 === 0) {
              await c.batch([{ sql: `INSERT INTO ${table} VALUES (?, ?)`, args: [index, n] }], "write");
            } else {
              const tx = await c.transaction("write");
              await tx.execute({ sql: `INSERT INTO ${table} VALUES (?, ?)`, args: [index, n] });
              await tx.commit();
            }
          }
        }),
      );
    } finally {
      for (const c of clients) c.close();
    }
    expect(await count(table)).toBe(60);
    const perClient = await client.execute(`SELECT client, count(*) AS n FROM ${table} GROUP BY client`);
    expect(perClient.rows.map((row) => row.n)).toEqual([10, 10, 10, 10, 10, 10]);
  });

  it("lets a writer wait for another stream's open transaction instead of failing", async () => {
    const table = tableName("wait");
    await client.execute(`CREATE TABLE ${table} (v)`);
    const other = createClient({ url: t.server.url, authToken: t.token });
    try {
      const tx = await client.transaction("write");
      await tx.execute(`INSERT INTO ${table} VALUES ('tx')`);
      const waiting = other.execute(`INSERT INTO ${table} VALUES ('other')`);
      // The holder's next requests must still be served while the other writer waits.
      await tx.execute(`INSERT INTO ${table} VALUES ('tx2')`);
      await tx.commit();
      await waiting;
    } finally {
      other.close();
    }
    expect(await count(table)).toBe(3);
  });
});
