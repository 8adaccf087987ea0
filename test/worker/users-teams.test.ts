import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureDefaults } from "../../worker/accounts/bootstrap.ts";
import { policyGroups, sessions } from "../../worker/db/schema.ts";
import { errorCode } from "../support/envelopes.ts";
import {
  browserLogin,
  createHarness,
  type Harness,
  seedUser,
  TEST_PASSWORD,
  unique,
} from "../support/primary.ts";

interface UserOut {
  id: string;
  username: string;
  role: string;
  disabled: boolean;
  policy_group_id: string | null;
}
interface TeamOut {
  id: string;
  name: string;
  policy_group_id: string | null;
  members: { user_id: string; role: string }[];
}

describe("admin users and teams", () => {
  let h: Harness;
  let token: string;
  let adminId: string;
  let defaultGroupId: string;
  let otherGroupId: string;
  beforeAll(async () => {
    h = await createHarness();
    await ensureDefaults(h.db);
    const admin = await seedUser(h, "admin");
    token = admin.token;
    adminId = admin.user.id;
    const [group] = await h.db.select().from(policyGroups).where(eq(policyGroups.isDefault, true));
    defaultGroupId = group!.id;
    const created = await h.call("POST", "/api/v1/admin/policy-groups", {
      token,
      body: { name: unique("remote-test") },
    });
    otherGroupId = ((await created.json()) as { id: string }).id;
  });
  afterAll(async () => {
    await h.close();
  });

  const createUser = async (body: Record<string, unknown> = {}) => {
    const response = await h.call("POST", "/api/v1/admin/users", {
      token,
      body: { username: unique("u"), password: TEST_PASSWORD, ...body },
    });
    expect(response.status).toBe(201);
    return (await response.json()) as UserOut;
  };

  it("creates a user bound to the current default group, who can log in", async () => {
    const user = await createUser();
    expect(user.role).toBe("user");
    expect(user.policy_group_id).toBe(defaultGroupId);
    expect(await browserLogin(h, user.username)).toMatch(/^flotilla_session=/);
  });

  it("keeps existing users on their group when the default group changes", async () => {
    const before = await createUser();
    const newDefault = await h.call("POST", "/api/v1/admin/policy-groups", {
      token,
      body: { name: unique("new-default"), is_default: true },
    });
    const newDefaultId = ((await newDefault.json()) as { id: string }).id;
    const after = await createUser();
    expect(after.policy_group_id).toBe(newDefaultId);
    const reread = await h.call("GET", `/api/v1/admin/users/${before.id}`, { token });
    expect(((await reread.json()) as UserOut).policy_group_id).toBe(defaultGroupId);
    await h.call("PATCH", `/api/v1/admin/policy-groups/${defaultGroupId}`, {
      token,
      body: { is_default: true },
    });
  });

  it("refuses a taken username (case-insensitively) and a weak password", async () => {
    const user = await createUser();
    const dup = await h.call("POST", "/api/v1/admin/users", {
      token,
      body: { username: user.username.toUpperCase(), password: TEST_PASSWORD },
    });
    expect(dup.status).toBe(409);
    expect(await errorCode(dup)).toBe("username_taken");
    const weak = await h.call("POST", "/api/v1/admin/users", {
      token,
      body: { username: unique("w"), password: "short" },
    });
    expect(await errorCode(weak)).toBe("validation_failed");
  });

  it("binds a user to a policy group and refuses an unknown group", async () => {
    const user = await createUser();
    const bound = await h.call("PATCH", `/api/v1/admin/users/${user.id}`, {
      token,
      body: { policy_group_id: otherGroupId },
    });
    expect(((await bound.json()) as UserOut).policy_group_id).toBe(otherGroupId);
    const unknown = await h.call("PATCH", `/api/v1/admin/users/${user.id}`, {
      token,
      body: { policy_group_id: "nope" },
    });
    expect(unknown.status).toBe(404);
  });

  it("disabling a user ends their sessions and blocks login", async () => {
    const { user, token: userToken } = await seedUser(h);
    const cookie = await browserLogin(h, user.username);
    const disabled = await h.call("PATCH", `/api/v1/admin/users/${user.id}`, {
      token,
      body: { disabled: true },
    });
    expect(((await disabled.json()) as UserOut).disabled).toBe(true);
    expect(await h.db.select().from(sessions).where(eq(sessions.userId, user.id))).toHaveLength(0);
    expect((await h.call("GET", "/api/v1/auth/me", { token: userToken })).status).toBe(401);
    expect((await h.call("GET", "/api/v1/auth/me", { cookie })).status).toBe(401);
    const login = await h.call("POST", "/api/v1/auth/login", {
      body: { username: user.username, password: TEST_PASSWORD },
    });
    expect(login.status).toBe(403);
    expect(await errorCode(login)).toBe("account_disabled");
  });

  it("changing a password ends old sessions and the new password works", async () => {
    const { user, token: userToken } = await seedUser(h);
    const newPassword = "another long password";
    await h.call("PATCH", `/api/v1/admin/users/${user.id}`, { token, body: { password: newPassword } });
    expect((await h.call("GET", "/api/v1/auth/me", { token: userToken })).status).toBe(401);
    expect(await browserLogin(h, user.username, newPassword)).toMatch(/^flotilla_session=/);
  });

  it("promotes a user to admin, and refuses to demote or disable the last enabled admin", async () => {
    const promoted = await createUser({ role: "admin" });
    expect(promoted.role).toBe("admin");
    const demote = await h.call("PATCH", `/api/v1/admin/users/${promoted.id}`, {
      token,
      body: { role: "user" },
    });
    expect(demote.status).toBe(200);
    const alone = await h.call("PATCH", `/api/v1/admin/users/${adminId}`, {
      token,
      body: { disabled: true },
    });
    expect(alone.status).toBe(409);
    expect(await errorCode(alone)).toBe("last_admin");
    const self = await h.call("PATCH", `/api/v1/admin/users/${adminId}`, { token, body: { role: "user" } });
    expect(await errorCode(self)).toBe("last_admin");
  });

  it("lists users and answers 404 for an unknown one", async () => {
    const user = await createUser();
    const list = (await (await h.call("GET", "/api/v1/admin/users", { token })).json()) as {
      users: UserOut[];
    };
    expect(list.users.map((u) => u.id)).toContain(user.id);
    expect(JSON.stringify(list)).not.toMatch(/password|pbkdf2/);
    expect((await h.call("GET", "/api/v1/admin/users/nope", { token })).status).toBe(404);
  });

  it("creates a team on the default group, binds it to another group, manages members", async () => {
    const created = await h.call("POST", "/api/v1/admin/teams", { token, body: { name: unique("team") } });
    expect(created.status).toBe(201);
    const team = (await created.json()) as TeamOut;
    expect(team.policy_group_id).toBe(defaultGroupId);
    const rebound = await h.call("PATCH", `/api/v1/admin/teams/${team.id}`, {
      token,
      body: { policy_group_id: otherGroupId },
    });
    expect(((await rebound.json()) as TeamOut).policy_group_id).toBe(otherGroupId);
    const member = await createUser();
    const added = await h.call("PUT", `/api/v1/admin/teams/${team.id}/members/${member.id}`, {
      token,
      body: {},
    });
    expect(((await added.json()) as TeamOut).members).toEqual([
      expect.objectContaining({ user_id: member.id, role: "member" }),
    ]);
    const promoted = await h.call("PUT", `/api/v1/admin/teams/${team.id}/members/${member.id}`, {
      token,
      body: { role: "manager" },
    });
    expect(((await promoted.json()) as TeamOut).members[0]?.role).toBe("manager");
    const removed = await h.call("DELETE", `/api/v1/admin/teams/${team.id}/members/${member.id}`, { token });
    expect(((await removed.json()) as TeamOut).members).toEqual([]);
    expect(
      (await h.call("DELETE", `/api/v1/admin/teams/${team.id}/members/${member.id}`, { token })).status,
    ).toBe(404);
  });

  it("shows a member their teams in /api/v1/auth/me, and only theirs", async () => {
    const { user, token: memberToken } = await seedUser(h);
    const mine = (await (
      await h.call("POST", "/api/v1/admin/teams", { token, body: { name: unique("mine") } })
    ).json()) as TeamOut;
    await h.call("POST", "/api/v1/admin/teams", { token, body: { name: unique("theirs") } });
    await h.call("PUT", `/api/v1/admin/teams/${mine.id}/members/${user.id}`, {
      token,
      body: { role: "manager" },
    });
    const me = (await (await h.call("GET", "/api/v1/auth/me", { token: memberToken })).json()) as {
      teams: { id: string; name: string; role: string }[];
    };
    expect(me.teams).toEqual([{ id: mine.id, name: mine.name, role: "manager" }]);
  });

  it("refuses a duplicate team name and an unknown member, deletes a team with its members", async () => {
    const team = (await (
      await h.call("POST", "/api/v1/admin/teams", { token, body: { name: unique("t") } })
    ).json()) as TeamOut;
    const dup = await h.call("POST", "/api/v1/admin/teams", { token, body: { name: team.name } });
    expect(await errorCode(dup)).toBe("name_taken");
    const ghost = await h.call("PUT", `/api/v1/admin/teams/${team.id}/members/nobody`, { token, body: {} });
    expect(ghost.status).toBe(404);
    const member = await createUser();
    await h.call("PUT", `/api/v1/admin/teams/${team.id}/members/${member.id}`, { token, body: {} });
    expect((await h.call("DELETE", `/api/v1/admin/teams/${team.id}`, { token })).status).toBe(204);
    expect((await h.call("GET", `/api/v1/admin/teams/${team.id}`, { token })).status).toBe(404);
    const list = (await (await h.call("GET", "/api/v1/admin/teams", { token })).json()) as {
      teams: TeamOut[];
    };
    expect(list.teams.map((t) => t.id)).not.toContain(team.id);
  });
});
