// A select prepared once per isolate (worker/db/prepared.ts) yields the very rows drizzle's own builder
// does, on the real libSQL engine: dates, booleans, nulls and an sql`` field decoded alike, alone and
// inside db.batch, and a placeholder it was not given, or one it does not declare, refused.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Client, createClient } from "@libsql/client";
import { eq, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/libsql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrateDatabase } from "../../../scripts/migrate.ts";
import { sha256Hex } from "../../../shared/crypto.ts";
import {
  createSession,
  membershipsJson,
  sessionFrom,
  sessionStatement,
} from "../../../worker/accounts/sessions.ts";
import { createUser } from "../../../worker/accounts/users.ts";
import type { Db } from "../../../worker/db/client.ts";
import { preparedSelect } from "../../../worker/db/prepared.ts";
import { sessions, teamMembers, teams, users } from "../../../worker/db/schema.ts";

describe("a select prepared once", () => {
  let dir: string;
  let client: Client;
  let db: Db;
  let token: string;
  let tokenHash: string;
  let userId: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "flotilla-prepared-"));
    client = createClient({ url: `file:${join(dir, "primary.db")}` });
    await migrateDatabase(client);
    db = drizzle(client);
    const now = new Date("2026-12-04T10:00:00.000Z");
    const user = await createUser(
      db,
      { username: "prepared-user", password: "a long password 1", role: "user" },
      now,
    );
    userId = user.id;
    await db.update(users).set({ disabled: true, policyGroupId: null }).where(eq(users.id, userId));
    for (const name of ["zeta", "alpha"]) {
      const id = `team-${name}`;
      await db.insert(teams).values({ id, name, createdAt: now, updatedAt: now });
      await db
        .insert(teamMembers)
        .values({ teamId: id, userId, role: name === "alpha" ? "manager" : "member", createdAt: now });
    }
    token = (await createSession(db, { userId, kind: "api", now, name: "bench" })).token;
    tokenHash = await sha256Hex(token);
  });
  afterAll(async () => {
    client.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** The session lookup as drizzle's builder makes it each time. */
  const built = (hash: string) =>
    db
      .select({ session: sessions, user: users, teams: membershipsJson })
      .from(sessions)
      .innerJoin(users, eq(users.id, sessions.userId))
      .where(eq(sessions.tokenHash, hash))
      .limit(1);

  it("decodes a session row exactly as the builder does: Dates, booleans, nulls, the teams' JSON", async () => {
    const expected = await built(tokenHash);
    expect(expected).toHaveLength(1);
    const found = sessionFrom(await sessionStatement(db, tokenHash));
    expect(found).not.toBeNull();
    expect({ session: found!.session, user: found!.user }).toEqual({
      session: expected[0]!.session,
      user: expected[0]!.user,
    });
    expect(found!.session.expiresAt).toBeInstanceOf(Date);
    expect(found!.session.lastUsedAt).toBeNull();
    expect(found!.user.disabled).toBe(true);
    expect(found!.teams.map((team) => [team.name, team.role])).toEqual([
      ["alpha", "manager"],
      ["zeta", "member"],
    ]);
  });

  it("yields nothing for a token that opens no session, and the same rows inside db.batch", async () => {
    expect(sessionFrom(await sessionStatement(db, await sha256Hex("no such token")))).toBeNull();
    const [fromBatch, count] = await db.batch([
      sessionStatement(db, tokenHash),
      db.select({ n: sql<number>`count(*)` }).from(teamMembers).where(eq(teamMembers.userId, userId)),
    ]);
    expect(sessionFrom(fromBatch)).toEqual(sessionFrom(await sessionStatement(db, tokenHash)));
    expect(count).toEqual([{ n: 2 }]);
  });

  it("keeps the values the builder bound itself (a LIMIT) beside its placeholders", async () => {
    const names = preparedSelect(
      { id: teams.id, name: teams.name, created: teams.createdAt },
      (select) =>
        select
          .from(teams)
          .where(sql`${teams.name} >= ${sql.placeholder("from")}`)
          .orderBy(teams.name)
          .limit(1),
      ["from"],
    );
    const run = async (from: string) => names.rows(await names.statement(db, { from }));
    // Both teams match "a" onwards: the bound LIMIT 1 keeps only the first.
    expect(await run("a")).toEqual([
      { id: "team-alpha", name: "alpha", created: new Date("2026-12-04T10:00:00.000Z") },
    ]);
    expect(await run("b")).toEqual([
      { id: "team-zeta", name: "zeta", created: new Date("2026-12-04T10:00:00.000Z") },
    ]);
    expect(await run("zz")).toEqual([]);
  });

  it("refuses a use without a value for its placeholder, and a declaration naming other placeholders", () => {
    const byName = preparedSelect(
      { id: teams.id },
      (select) => select.from(teams).where(eq(teams.name, sql.placeholder("name"))),
      ["name"],
    );
    expect(() => byName.statement(db, {} as { name: string })).toThrow(/No value for the placeholder name/);
    const misdeclared = preparedSelect(
      { id: teams.id },
      (select) => select.from(teams).where(eq(teams.name, sql.placeholder("name"))),
      ["other"],
    );
    expect(() => misdeclared.statement(db, { other: "x" })).toThrow(/must be the names it declares/);
  });
});
