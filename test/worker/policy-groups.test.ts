import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureDefaults } from "../../worker/accounts/bootstrap.ts";
import { policyGroups } from "../../worker/db/schema.ts";
import { errorCode } from "../support/envelopes.ts";
import { createHarness, type Harness, seedNode, seedPolicy, seedUser, unique } from "../support/primary.ts";

interface GroupOut {
  id: string;
  name: string;
  enabled: boolean;
  is_default: boolean;
  rules: { id: string; policy_id: string; priority: number; min_size: number; max_size: number }[];
  warnings: { code: string; message: string; ranges: { min_size: number; max_size: number }[] }[];
}

describe("policy groups", () => {
  let h: Harness;
  let token: string;
  beforeAll(async () => {
    h = await createHarness();
    await ensureDefaults(h.db);
    token = (await seedUser(h, "admin")).token;
  });
  afterAll(async () => {
    await h.close();
  });

  const create = async (body: Record<string, unknown>) =>
    h.call("POST", "/api/v1/admin/policy-groups", { token, body });
  const createOk = async (body: Record<string, unknown> = {}) => {
    const response = await create({ name: unique("group"), ...body });
    expect(response.status).toBe(201);
    return (await response.json()) as GroupOut;
  };
  const defaultGroups = async () => h.db.select().from(policyGroups).where(eq(policyGroups.isDefault, true));

  it("creates a group with rules ordered by priority", async () => {
    const [a, b] = [await seedPolicy(h), await seedPolicy(h)];
    const group = await createOk({
      rules: [
        { policy_id: a, priority: 20, min_size: 100 * 1024 * 1024, max_size: 0 },
        { policy_id: b, priority: 10, min_size: 0, max_size: 100 * 1024 * 1024 },
      ],
    });
    expect(group.rules.map((r) => r.priority)).toEqual([10, 20]);
    expect(group.is_default).toBe(false);
    const fetched = await h.call("GET", `/api/v1/admin/policy-groups/${group.id}`, { token });
    expect(((await fetched.json()) as GroupOut).rules).toHaveLength(2);
  });

  const invalidRuleSets: [string, (a: string, b: string) => unknown[], string][] = [
    [
      "duplicate priority",
      (a, b) => [
        { policy_id: a, priority: 5 },
        { policy_id: b, priority: 5 },
      ],
      "policy_rule_conflict",
    ],
    [
      "duplicate policy",
      (a) => [
        { policy_id: a, priority: 1 },
        { policy_id: a, priority: 2 },
      ],
      "policy_rule_conflict",
    ],
    [
      "max equal to min",
      (a) => [{ policy_id: a, priority: 1, min_size: 10, max_size: 10 }],
      "policy_rule_conflict",
    ],
    [
      "max below min",
      (a) => [{ policy_id: a, priority: 1, min_size: 10, max_size: 5 }],
      "policy_rule_conflict",
    ],
    ["priority zero", (a) => [{ policy_id: a, priority: 0 }], "validation_failed"],
    ["negative size", (a) => [{ policy_id: a, priority: 1, min_size: -1 }], "validation_failed"],
    ["unknown policy", () => [{ policy_id: "no-such-policy", priority: 1 }], "not_found"],
  ];
  for (const [name, rules, code] of invalidRuleSets) {
    it(`refuses a rule set with ${name} (${code}) and creates nothing`, async () => {
      const [a, b] = [await seedPolicy(h), await seedPolicy(h)];
      const groupName = unique("bad");
      const response = await create({ name: groupName, rules: rules(a, b) });
      expect(await errorCode(response)).toBe(code);
      expect(await h.db.select().from(policyGroups).where(eq(policyGroups.name, groupName))).toHaveLength(0);
    });
  }

  it("saves rules that leave exactly 1 MiB unmatched, and warns with that range in the answer", async () => {
    const [a, b] = [await seedPolicy(h), await seedPolicy(h)];
    const MiB = 1024 * 1024;
    const group = await createOk({
      rules: [
        { policy_id: a, priority: 1, min_size: 0, max_size: MiB },
        { policy_id: b, priority: 2, min_size: MiB + 1, max_size: 0 },
      ],
    });
    expect(group.rules).toHaveLength(2);
    expect(group.warnings).toHaveLength(1);
    expect(group.warnings[0]).toMatchObject({
      code: "sizes_uncovered",
      ranges: [{ min_size: MiB, max_size: MiB + 1 }],
    });
    expect(group.warnings[0]?.message).toContain("1048576 to under 1048577 bytes");
    // Closing the gap (the second rule starts at the first one's maximum) clears the warning.
    const second = group.rules.find((r) => r.policy_id === b);
    const edited = await h.call("PATCH", `/api/v1/admin/policy-groups/${group.id}/rules/${second?.id}`, {
      token,
      body: { min_size: MiB },
    });
    expect(edited.status).toBe(200);
    expect(((await edited.json()) as GroupOut).warnings).toEqual([]);
  });

  it("warns about sizes above a bounded last rule, over a policy's size limit, and on a disabled node", async () => {
    const capped = await seedPolicy(h, { maxFileSize: 999 });
    const top = await createOk({ rules: [{ policy_id: capped, priority: 1, min_size: 0, max_size: 0 }] });
    expect(top.warnings[0]?.ranges).toEqual([{ min_size: 1000, max_size: 0 }]);
    const bounded = await createOk({
      rules: [{ policy_id: await seedPolicy(h), priority: 1, min_size: 10, max_size: 20 }],
    });
    expect(bounded.warnings[0]?.ranges).toEqual([
      { min_size: 0, max_size: 10 },
      { min_size: 20, max_size: 0 },
    ]);
    const empty = await createOk();
    expect(empty.warnings[0]?.ranges).toEqual([{ min_size: 0, max_size: 0 }]);
    const node = await seedNode(h, false);
    const remote = await seedPolicy(h, { driver: "remote", nodeId: node });
    const offline = await createOk({ rules: [{ policy_id: remote, priority: 1 }] });
    expect(offline.warnings[0]?.ranges).toEqual([{ min_size: 0, max_size: 0 }]);
  });

  it("accepts max_size 0 as no upper bound", async () => {
    const group = await createOk({
      rules: [{ policy_id: await seedPolicy(h), priority: 1, min_size: 10, max_size: 0 }],
    });
    expect(group.rules[0]?.max_size).toBe(0);
  });

  it("adds a rule after the last one by default and refuses a duplicate priority on add", async () => {
    const group = await createOk({ rules: [{ policy_id: await seedPolicy(h), priority: 7 }] });
    const added = await h.call("POST", `/api/v1/admin/policy-groups/${group.id}/rules`, {
      token,
      body: { policy_id: await seedPolicy(h) },
    });
    expect(added.status).toBe(201);
    expect(((await added.json()) as GroupOut).rules.map((r) => r.priority)).toEqual([7, 8]);
    const clash = await h.call("POST", `/api/v1/admin/policy-groups/${group.id}/rules`, {
      token,
      body: { policy_id: await seedPolicy(h), priority: 7 },
    });
    expect(await errorCode(clash)).toBe("policy_rule_conflict");
  });

  it("edits and deletes a single rule, validating the result", async () => {
    const group = await createOk({
      rules: [
        { policy_id: await seedPolicy(h), priority: 1 },
        { policy_id: await seedPolicy(h), priority: 2 },
      ],
    });
    const [first, second] = group.rules;
    const clash = await h.call("PATCH", `/api/v1/admin/policy-groups/${group.id}/rules/${second!.id}`, {
      token,
      body: { priority: 1 },
    });
    expect(await errorCode(clash)).toBe("policy_rule_conflict");
    const edited = await h.call("PATCH", `/api/v1/admin/policy-groups/${group.id}/rules/${second!.id}`, {
      token,
      body: { min_size: 0, max_size: 1000 },
    });
    expect(edited.status).toBe(200);
    expect(((await edited.json()) as GroupOut).rules[1]?.max_size).toBe(1000);
    const removed = await h.call("DELETE", `/api/v1/admin/policy-groups/${group.id}/rules/${first!.id}`, {
      token,
    });
    expect(((await removed.json()) as GroupOut).rules.map((r) => r.id)).toEqual([second!.id]);
  });

  it("replaces all rules at once to reorder priorities", async () => {
    const [a, b] = [await seedPolicy(h), await seedPolicy(h)];
    const group = await createOk({
      rules: [
        { policy_id: a, priority: 1 },
        { policy_id: b, priority: 2 },
      ],
    });
    const response = await h.call("PUT", `/api/v1/admin/policy-groups/${group.id}/rules`, {
      token,
      body: {
        rules: [
          { policy_id: a, priority: 2 },
          { policy_id: b, priority: 1 },
        ],
      },
    });
    expect(response.status).toBe(200);
    expect(((await response.json()) as GroupOut).rules.map((r) => r.policy_id)).toEqual([b, a]);
  });

  it("keeps exactly one default: promoting a group demotes the old default", async () => {
    const [before] = await defaultGroups();
    const group = await createOk();
    const response = await h.call("PATCH", `/api/v1/admin/policy-groups/${group.id}`, {
      token,
      body: { is_default: true },
    });
    expect(((await response.json()) as GroupOut).is_default).toBe(true);
    const after = await defaultGroups();
    expect(after.map((g) => g.id)).toEqual([group.id]);
    expect(after[0]?.id).not.toBe(before?.id);
  });

  it("creates a group directly as the default", async () => {
    const group = await createOk({ is_default: true });
    expect((await defaultGroups()).map((g) => g.id)).toEqual([group.id]);
  });

  it("refuses to un-default, disable or delete the default group", async () => {
    const [current] = await defaultGroups();
    const id = current!.id;
    const undefault = await h.call("PATCH", `/api/v1/admin/policy-groups/${id}`, {
      token,
      body: { is_default: false },
    });
    expect(await errorCode(undefault)).toBe("policy_group_default_required");
    const disable = await h.call("PATCH", `/api/v1/admin/policy-groups/${id}`, {
      token,
      body: { enabled: false },
    });
    expect(await errorCode(disable)).toBe("policy_group_default_required");
    const remove = await h.call("DELETE", `/api/v1/admin/policy-groups/${id}`, { token });
    expect(await errorCode(remove)).toBe("policy_group_default_required");
    expect((await defaultGroups()).map((g) => g.id)).toEqual([id]);
  });

  it("refuses a disabled group as the default", async () => {
    const created = await create({ name: unique("off"), enabled: false, is_default: true });
    expect(await errorCode(created)).toBe("policy_group_default_required");
    const group = await createOk({ enabled: false });
    const promote = await h.call("PATCH", `/api/v1/admin/policy-groups/${group.id}`, {
      token,
      body: { is_default: true },
    });
    expect(await errorCode(promote)).toBe("policy_group_default_required");
  });

  it("enables and disables a non-default group", async () => {
    const group = await createOk();
    const off = await h.call("PATCH", `/api/v1/admin/policy-groups/${group.id}`, {
      token,
      body: { enabled: false },
    });
    expect(((await off.json()) as GroupOut).enabled).toBe(false);
  });

  it("refuses a duplicate group name", async () => {
    const group = await createOk();
    expect(await errorCode(await create({ name: group.name }))).toBe("name_taken");
  });

  it("refuses to delete a group bound to a user, and deletes it once unbound", async () => {
    const group = await createOk();
    const { user } = await seedUser(h);
    await h.call("PATCH", `/api/v1/admin/users/${user.id}`, { token, body: { policy_group_id: group.id } });
    const refused = await h.call("DELETE", `/api/v1/admin/policy-groups/${group.id}`, { token });
    expect(refused.status).toBe(409);
    expect(await errorCode(refused)).toBe("policy_group_in_use");
    await h.call("PATCH", `/api/v1/admin/users/${user.id}`, { token, body: { policy_group_id: null } });
    expect((await h.call("DELETE", `/api/v1/admin/policy-groups/${group.id}`, { token })).status).toBe(204);
    expect((await h.call("GET", `/api/v1/admin/policy-groups/${group.id}`, { token })).status).toBe(404);
  });
});
