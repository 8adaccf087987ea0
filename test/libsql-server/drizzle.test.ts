// The way the primary uses the server: drizzle-orm over @libsql/client (queries, batch, transactions
// with nested savepoints, rollback on throw).
import { createClient } from "@libsql/client";
import { eq, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/libsql";
import { blob, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/libsql.ts";

const files = sqliteTable("files", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  name: text("name").notNull().unique(),
  size: integer("size", { mode: "number" }).notNull(),
  digest: blob("digest", { mode: "buffer" }),
});

let t: TestServer;
let client: ReturnType<typeof createClient>;
let db: ReturnType<typeof drizzle>;

beforeAll(async () => {
  t = await startTestServer();
  client = createClient({ url: t.server.url, authToken: t.token });
  db = drizzle(client);
  await db.run(
    sql`CREATE TABLE files (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE, size INTEGER NOT NULL, digest BLOB)`,
  );
});

afterAll(async () => {
  client.close();
  await t.stop();
});

describe("drizzle-orm over the server", () => {
  it("inserts with returning, selects with where, updates and deletes", async () => {
    const digest = Buffer.from(Array.from({ length: 32 }, (_, i) => i * 8));
    const [row] = await db.insert(files).values({ name: "a.txt", size: 12, digest }).returning();
    expect(row).toMatchObject({ name: "a.txt", size: 12 });
    expect(Buffer.compare(row!.digest!, digest)).toBe(0);
    await db.update(files).set({ size: 13 }).where(eq(files.name, "a.txt"));
    const [read] = await db.select().from(files).where(eq(files.id, row!.id));
    expect(read?.size).toBe(13);
    await db.delete(files).where(eq(files.id, row!.id));
    expect(await db.select().from(files).where(eq(files.id, row!.id))).toEqual([]);
  });

  it("runs db.batch atomically", async () => {
    await expect(
      db.batch([
        db.insert(files).values({ name: "batch-1", size: 1 }),
        db.insert(files).values({ name: "batch-1", size: 2 }),
      ]),
    ).rejects.toThrow();
    expect(await db.select().from(files).where(eq(files.name, "batch-1"))).toEqual([]);
  });

  it("commits a transaction, rolls back a nested savepoint and a transaction that throws", async () => {
    await db.transaction(async (tx) => {
      await tx.insert(files).values({ name: "outer", size: 1 });
      await tx
        .transaction(async (nested) => {
          await nested.insert(files).values({ name: "inner", size: 2 });
          throw new Error("undo inner");
        })
        .catch(() => undefined);
    });
    await expect(
      db.transaction(async (tx) => {
        await tx.insert(files).values({ name: "doomed", size: 3 });
        throw new Error("undo all");
      }),
    ).rejects.toThrow("undo all");
    const names = (await db.select({ name: files.name }).from(files)).map((row) => row.name);
    expect(names).toContain("outer");
    expect(names).not.toContain("inner");
    expect(names).not.toContain("doomed");
  });
});
