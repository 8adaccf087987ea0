import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSession } from "../../worker/accounts/sessions.ts";
import { loginAttempts, sessions } from "../../worker/db/schema.ts";
import { parseEnv } from "../../worker/env.ts";
import { runScheduledTasks } from "../../worker/scheduled.ts";
import { createServices } from "../../worker/services.ts";
import { createHarness, type Harness, seedUser } from "../support/primary.ts";

describe("scheduled tasks", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  it("removes expired sessions and stale login attempts, keeping live ones", async () => {
    const { user } = await seedUser(h);
    const now = new Date();
    const expired = await createSession(h.db, {
      userId: user.id,
      kind: "api",
      now: new Date(now.getTime() - 5000),
      ttlMs: 1000,
    });
    const live = await createSession(h.db, { userId: user.id, kind: "browser", now });
    await h.db.insert(loginAttempts).values([
      { key: "user:stale", failures: 3, windowStartedAt: new Date(now.getTime() - 2 * 24 * 3600 * 1000) },
      { key: "user:fresh", failures: 1, windowStartedAt: now },
    ]);
    const services = createServices(parseEnv(h.env), { waitUntil: () => {} }, "cron-test", {
      db: h.db,
      now: () => now,
    });
    expect(await runScheduledTasks(services)).toEqual([]);
    expect(await h.db.select().from(sessions).where(eq(sessions.id, expired.id))).toHaveLength(0);
    expect(await h.db.select().from(sessions).where(eq(sessions.id, live.id))).toHaveLength(1);
    const keys = (await h.db.select().from(loginAttempts)).map((row) => row.key);
    expect(keys).toContain("user:fresh");
    expect(keys).not.toContain("user:stale");
  });

  it("reports a failing task by name and still runs the others (database client closed)", async () => {
    const broken = await createHarness();
    const logs: string[] = [];
    const services = createServices(parseEnv(broken.env), { waitUntil: () => {} }, "cron-test", {
      db: broken.db,
      logSink: (record) => logs.push(`${record.level}:${String(record.task)}`),
    });
    broken.client.close();
    const failed = await runScheduledTasks(services);
    await broken.close();
    expect(failed).toContain("expire_sessions");
    expect(failed).toContain("prune_login_attempts");
    expect(logs).toContain("error:expire_sessions");
  });
});
