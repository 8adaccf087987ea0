// Policy groups seeded straight into the database, for suites whose subject is not the groups' API,
// and the same made through the admin API, for suites that run the primary as a server.
import { eq } from "drizzle-orm";
import { randomId } from "../../shared/crypto.ts";
import type { Db } from "../../worker/db/client.ts";
import { policyGroupRules, policyGroups, users } from "../../worker/db/schema.ts";
import type { UploadClient } from "./upload-client.ts";

/** A new group whose only rule sends every size to `policyId`; answers its id. */
export async function seedGroup(db: Db, policyId: string): Promise<string> {
  const groupId = randomId();
  await db.insert(policyGroups).values({ id: groupId, name: `group-${groupId}` });
  await db
    .insert(policyGroupRules)
    .values({ id: randomId(), groupId, policyId, priority: 1, minSize: 0, maxSize: 0 });
  return groupId;
}

/** Binds a user (by id or username) to a new group whose only rule sends every size to `policyId`. */
export async function bindUserToPolicy(
  db: Db,
  user: { id: string } | { username: string },
  policyId: string,
): Promise<string> {
  const groupId = await seedGroup(db, policyId);
  const which = "id" in user ? eq(users.id, user.id) : eq(users.username, user.username);
  await db.update(users).set({ policyGroupId: groupId }).where(which);
  return groupId;
}

/**
 * Through the admin API: a group named `name` whose only rule sends every size to `policyId`, and a
 * user `username` bound to it.
 */
export async function createPolicyUser(
  admin: UploadClient,
  policyId: string,
  name: string,
  username: string,
  password: string,
): Promise<void> {
  const group = await admin.json("POST", "/api/v1/admin/policy-groups", {
    name,
    rules: [{ policy_id: policyId, priority: 1, min_size: 0, max_size: 0 }],
  });
  const groupId = (await admin.ok<{ id: string }>(group, 201)).id;
  await admin.ok(
    await admin.json("POST", "/api/v1/admin/users", { username, password, policy_group_id: groupId }),
    201,
  );
}
