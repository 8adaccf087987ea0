import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DEFAULT_GROUP,
  ensureAdmin,
  ensureDefaults,
  PRIMARY_STORE_POLICY,
} from "../../worker/accounts/bootstrap.ts";
import { policyGroupRules, policyGroups, storagePolicies, users } from "../../worker/db/schema.ts";
import { resolvePolicy } from "../../worker/policy-groups/resolve.ts";
import { createHarness, type Harness, unique } from "../support/primary.ts";

describe("bootstrap", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  it("creates the primary-store policy and the default group once", async () => {
    expect(await ensureDefaults(h.db)).toEqual({ created: true });
    expect(await ensureDefaults(h.db)).toEqual({ created: false });
    const [policy] = await h.db
      .select()
      .from(storagePolicies)
      .where(eq(storagePolicies.name, PRIMARY_STORE_POLICY));
    expect(policy?.driver).toBe("primary");
    const groups = await h.db.select().from(policyGroups).where(eq(policyGroups.isDefault, true));
    expect(groups.map((g) => g.name)).toEqual([DEFAULT_GROUP]);
    const rules = await h.db
      .select()
      .from(policyGroupRules)
      .where(eq(policyGroupRules.groupId, groups[0]!.id));
    expect(rules).toEqual([
      expect.objectContaining({ policyId: policy!.id, priority: 1, minSize: 0, maxSize: 0 }),
    ]);
  });

  it("creates an admin once, who can log in and upload to the primary store at once", async () => {
    await ensureDefaults(h.db);
    const username = unique("root");
    expect(await ensureAdmin(h.db, { username, password: "first password 1" })).toEqual({ created: true });
    expect(await ensureAdmin(h.db, { username, password: "other password 2" })).toEqual({ created: false });
    const login = await h.call("POST", "/api/v1/auth/login", {
      body: { username, password: "first password 1" },
    });
    expect(login.status).toBe(200);
    const [admin] = await h.db.select().from(users).where(eq(users.username, username));
    expect(admin?.role).toBe("admin");
    const resolution = await resolvePolicy(h.db, { space: "personal", userId: admin!.id, size: 123 });
    expect(resolution.policy.name).toBe(PRIMARY_STORE_POLICY);
    // Bound like any new user: moving the default group later does not move the admin's uploads.
    const [defaultGroup] = await h.db.select().from(policyGroups).where(eq(policyGroups.isDefault, true));
    expect(admin?.policyGroupId).toBe(defaultGroup!.id);
  });

  it("refuses a weak first admin password", async () => {
    await expect(ensureAdmin(h.db, { username: unique("weak"), password: "123" })).rejects.toThrow();
  });
});
