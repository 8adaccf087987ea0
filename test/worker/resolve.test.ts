import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomId } from "../../shared/crypto.ts";
import { AppError } from "../../shared/errors.ts";
import { ensureDefaults } from "../../worker/accounts/bootstrap.ts";
import { policyGroupRules, policyGroups, teams, users } from "../../worker/db/schema.ts";
import { type ResolveSubject, resolvePolicy } from "../../worker/policy-groups/resolve.ts";
import { createHarness, type Harness, seedNode, seedPolicy, seedUser, unique } from "../support/primary.ts";

const MiB = 1024 * 1024;

describe("policy resolution", () => {
  let h: Harness;
  const ids: Record<string, string> = {};

  async function group(
    name: string,
    rules: [policy: string, priority: number, min: number, max: number][],
    enabled = true,
  ) {
    const id = randomId();
    await h.db.insert(policyGroups).values({ id, name: unique(name), enabled });
    for (const [policy, priority, minSize, maxSize] of rules) {
      await h.db
        .insert(policyGroupRules)
        .values({ id: randomId(), groupId: id, policyId: ids[policy]!, priority, minSize, maxSize });
    }
    return id;
  }
  async function userIn(groupId: string | null) {
    const { user } = await seedUser(h);
    await h.db.update(users).set({ policyGroupId: groupId }).where(eq(users.id, user.id));
    return user.id;
  }

  beforeAll(async () => {
    h = await createHarness();
    await ensureDefaults(h.db);
    const live = await seedNode(h, true);
    const down = await seedNode(h, false);
    ids.small = await seedPolicy(h, { driver: "primary" });
    ids.large = await seedPolicy(h, { driver: "remote", nodeId: live });
    ids.downNode = await seedPolicy(h, { driver: "remote", nodeId: down });
    ids.limited = await seedPolicy(h, { driver: "primary", maxFileSize: 1000 });
    ids.bySize = await group("by-size", [
      ["downNode", 1, 0, 0],
      ["small", 2, 0, 100 * MiB],
      ["large", 3, 100 * MiB, 0],
    ]);
    ids.limitFirst = await group("limit-first", [
      ["limited", 1, 0, 0],
      ["small", 2, 0, 0],
    ]);
    ids.smallOnly = await group("small-only", [["small", 1, 0, 100]]);
    ids.disabled = await group("disabled", [["small", 1, 0, 0]], false);
    ids.empty = await group("empty", []);
    ids.userBySize = await userIn(ids.bySize);
    ids.userLimit = await userIn(ids.limitFirst);
    ids.userSmallOnly = await userIn(ids.smallOnly);
    ids.userDisabled = await userIn(ids.disabled);
    ids.userEmpty = await userIn(ids.empty);
    ids.userUnbound = await userIn(null);
    ids.team = randomId();
    await h.db.insert(teams).values({ id: ids.team, name: unique("team"), policyGroupId: ids.smallOnly });
  });
  afterAll(async () => {
    await h.close();
  });

  const personal = (user: string): ResolveSubject => ({ space: "personal", userId: ids[user]! });
  const cases: {
    name: string;
    subject: () => ResolveSubject;
    size: number;
    policy?: string;
    code?: string;
    skipped?: string[];
  }[] = [
    {
      name: "skips a rule whose follower node is disabled",
      subject: () => personal("userBySize"),
      size: 0,
      policy: "small",
      skipped: ["node_disabled"],
    },
    {
      name: "matches just below the exclusive max",
      subject: () => personal("userBySize"),
      size: 100 * MiB - 1,
      policy: "small",
    },
    {
      name: "matches the inclusive min of the next rule",
      subject: () => personal("userBySize"),
      size: 100 * MiB,
      policy: "large",
      skipped: ["node_disabled", "size_out_of_range"],
    },
    {
      name: "treats max 0 as unbounded",
      subject: () => personal("userBySize"),
      size: 50 * 1024 * MiB,
      policy: "large",
    },
    {
      name: "uses a policy up to its single-file limit",
      subject: () => personal("userLimit"),
      size: 1000,
      policy: "limited",
    },
    {
      name: "falls through when the policy's single-file limit is exceeded",
      subject: () => personal("userLimit"),
      size: 1001,
      policy: "small",
      skipped: ["over_policy_size_limit"],
    },
    {
      name: "answers no_matching_policy when no range fits",
      subject: () => personal("userSmallOnly"),
      size: 100,
      code: "no_matching_policy",
    },
    {
      name: "answers no_matching_policy for a group without rules",
      subject: () => personal("userEmpty"),
      size: 1,
      code: "no_matching_policy",
    },
    {
      name: "answers policy_group_disabled for a disabled group",
      subject: () => personal("userDisabled"),
      size: 1,
      code: "policy_group_disabled",
    },
    {
      name: "uses the default group for an unbound user",
      subject: () => personal("userUnbound"),
      size: 5 * 1024 * MiB,
      policy: "default",
    },
    {
      name: "uses the team's group in team space",
      subject: () => ({ space: "team", teamId: ids.team! }),
      size: 99,
      policy: "small",
    },
    {
      name: "applies the team group's size range in team space",
      subject: () => ({ space: "team", teamId: ids.team! }),
      size: 100,
      code: "no_matching_policy",
    },
    {
      name: "answers not_found for an unknown user",
      subject: () => ({ space: "personal", userId: "nobody" }),
      size: 1,
      code: "not_found",
    },
    {
      name: "answers not_found for an unknown team",
      subject: () => ({ space: "team", teamId: "nobody" }),
      size: 1,
      code: "not_found",
    },
  ];

  for (const c of cases) {
    it(c.name, async () => {
      const attempt = resolvePolicy(h.db, { ...c.subject(), size: c.size });
      if (c.code) {
        const error = await attempt.then(
          () => null,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(AppError);
        expect((error as AppError).code).toBe(c.code);
        return;
      }
      const resolution = await attempt;
      if (c.policy === "default") expect(resolution.policy.name).toBe("Primary store");
      else expect(resolution.policy.id).toBe(ids[c.policy!]);
      if (c.skipped) expect(resolution.skipped.map((s) => s.reason)).toEqual(c.skipped);
    });
  }

  it("answers no_policy_group when an unbound user has no default group to fall back to", async () => {
    const bare = await createHarness();
    try {
      const { user } = await seedUser(bare);
      const error = await resolvePolicy(bare.db, { space: "personal", userId: user.id, size: 1 }).catch(
        (e: unknown) => e,
      );
      expect((error as AppError).code).toBe("no_policy_group");
    } finally {
      await bare.close();
    }
  });

  it("previews resolution over the admin API", async () => {
    const { token } = await seedUser(h, "admin");
    const ok = await h.call(
      "GET",
      `/api/v1/admin/policy-resolution?user_id=${ids.userBySize}&size=${200 * MiB}`,
      { token },
    );
    expect(ok.status).toBe(200);
    const body = (await ok.json()) as { policy: { id: string }; skipped: { reason: string }[] };
    expect(body.policy.id).toBe(ids.large);
    const none = await h.call(
      "GET",
      `/api/v1/admin/policy-resolution?space=team&team_id=${ids.team}&size=1000`,
      { token },
    );
    expect(none.status).toBe(422);
    const missing = await h.call("GET", "/api/v1/admin/policy-resolution?space=team&size=1", { token });
    expect(missing.status).toBe(400);
  });
});
