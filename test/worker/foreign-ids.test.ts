// Every request that writes a reference to another record (a user's or team's policy group, a rule's
// policy, a policy's node, a team member) with an empty or unknown id answers a coded 4xx in the
// envelope, never the database's FOREIGN KEY refusal as a 500.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomId } from "../../shared/crypto.ts";
import { ensureDefaults } from "../../worker/accounts/bootstrap.ts";
import { databaseRefusal } from "../../worker/db/constraints.ts";
import { teams } from "../../worker/db/schema.ts";
import { refusalOf } from "../support/envelopes.ts";
import {
  createHarness,
  type Harness,
  seedPolicy,
  seedUser,
  TEST_PASSWORD,
  unique,
} from "../support/primary.ts";

describe("requests naming a record that does not exist", () => {
  let h: Harness;
  let token: string;
  let userId: string;
  let teamId: string;
  let groupId: string;
  let ruleId: string;
  beforeAll(async () => {
    h = await createHarness();
    await ensureDefaults(h.db);
    token = (await seedUser(h, "admin")).token;
    userId = (await seedUser(h, "user")).user.id;
    const team = await h.call("POST", "/api/v1/admin/teams", { token, body: { name: unique("team") } });
    teamId = ((await team.json()) as { id: string }).id;
    const group = await h.call("POST", "/api/v1/admin/policy-groups", { token, body: { name: unique("g") } });
    groupId = ((await group.json()) as { id: string }).id;
    const policyId = await seedPolicy(h);
    const withRule = await h.call("POST", `/api/v1/admin/policy-groups/${groupId}/rules`, {
      token,
      body: { policy_id: policyId, priority: 1 },
    });
    expect(withRule.status).toBe(201);
    ruleId = ((await withRule.json()) as { rules: { id: string }[] }).rules[0]!.id;
  });
  afterAll(async () => {
    await h.close();
  });

  type Case = [name: string, method: string, path: () => string, body: (id: string) => unknown];
  const cases: Case[] = [
    [
      "a new team's policy group",
      "POST",
      () => "/api/v1/admin/teams",
      (id) => ({ name: unique("t"), policy_group_id: id }),
    ],
    [
      "a team's policy group",
      "PATCH",
      () => `/api/v1/admin/teams/${teamId}`,
      (id) => ({ policy_group_id: id }),
    ],
    [
      "a new user's policy group",
      "POST",
      () => "/api/v1/admin/users",
      (id) => ({ username: unique("u"), password: TEST_PASSWORD, policy_group_id: id }),
    ],
    [
      "a user's policy group",
      "PATCH",
      () => `/api/v1/admin/users/${userId}`,
      (id) => ({ policy_group_id: id }),
    ],
    [
      "a new rule's policy",
      "POST",
      () => `/api/v1/admin/policy-groups/${groupId}/rules`,
      (id) => ({ policy_id: id, priority: 5 }),
    ],
    [
      "the rules' policies",
      "PUT",
      () => `/api/v1/admin/policy-groups/${groupId}/rules`,
      (id) => ({ rules: [{ policy_id: id, priority: 1 }] }),
    ],
    [
      "a rule's policy",
      "PATCH",
      () => `/api/v1/admin/policy-groups/${groupId}/rules/${ruleId}`,
      (id) => ({ policy_id: id }),
    ],
    [
      "a remote policy's node",
      "POST",
      () => "/api/v1/admin/policies",
      (id) => ({ name: unique("p"), driver: "remote", node_id: id }),
    ],
  ];
  for (const [name, method, path, body] of cases) {
    it(`refuses an empty id for ${name} as a validation error`, async () => {
      const refusal = await refusalOf(await h.call(method, path(), { token, body: body("") }));
      expect([refusal.status, refusal.code]).toEqual([400, "validation_failed"]);
    });
    it(`refuses an unknown id for ${name} with a coded 4xx`, async () => {
      const refusal = await refusalOf(await h.call(method, path(), { token, body: body("no-such-record") }));
      expect(refusal.status).toBeGreaterThanOrEqual(400);
      expect(refusal.status).toBeLessThan(500);
    });
  }

  for (const [name, path] of [
    ["an unknown team", () => `/api/v1/admin/teams/no-such-team/members/${userId}`],
    ["an unknown user", () => `/api/v1/admin/teams/${teamId}/members/no-such-user`],
  ] as const) {
    it(`refuses a membership of ${name} as not found`, async () => {
      const refusal = await refusalOf(await h.call("PUT", path(), { token, body: { role: "member" } }));
      expect([refusal.status, refusal.code]).toEqual([404, "not_found"]);
    });
  }

  it("answers a FOREIGN KEY refusal no caller mapped (a record removed after its check) as 409 conflict", async () => {
    const now = new Date();
    const refused = await h.db
      .insert(teams)
      .values({
        id: randomId(),
        name: unique("t"),
        policyGroupId: "no-such-group",
        createdAt: now,
        updatedAt: now,
      })
      .catch((error: unknown) => error);
    const answer = databaseRefusal(refused);
    expect([answer?.status, answer?.code]).toEqual([409, "conflict"]);
    expect(databaseRefusal(new Error("something else"))).toBeUndefined();
  });
});
