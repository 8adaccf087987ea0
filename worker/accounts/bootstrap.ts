// Owns first-run data: the first admin account and the defaults a fresh install needs so a new user
// can upload at once (storage policy "Primary store" on the R2 binding, default group "Default").
// Node-callable (launcher, scripts/create-admin.ts) and idempotent; WebCrypto only.
import { eq } from "drizzle-orm";
import type { LibSQLDatabase } from "drizzle-orm/libsql";
import { randomId } from "../../shared/crypto.ts";
import { normalizeUsername, passwordSchema, usernameSchema } from "../api/users.ts";
import { policyGroupRules, policyGroups, storagePolicies, users } from "../db/schema.ts";
import { hashPassword } from "./passwords.ts";

/** Any drizzle libSQL database, with or without the relational schema attached. */
export type AnyDb = LibSQLDatabase<Record<string, unknown>>;

export const PRIMARY_STORE_POLICY = "Primary store";
export const DEFAULT_GROUP = "Default";

/**
 * Creates the admin account if no user has this username; never changes an existing account. Like any
 * new user it is bound to the default group of the moment (run ensureDefaults first), so a later change
 * of the default group does not move the admin's uploads.
 */
export async function ensureAdmin(
  db: AnyDb,
  input: { username: string; password: string },
): Promise<{ created: boolean }> {
  const username = normalizeUsername(usernameSchema.parse(input.username));
  const password = passwordSchema.parse(input.password);
  const [existing] = await db
    .select({ id: users.id })
    .from(users)
    .where(eq(users.username, username))
    .limit(1);
  if (existing) return { created: false };
  const [defaultGroup] = await db
    .select({ id: policyGroups.id })
    .from(policyGroups)
    .where(eq(policyGroups.isDefault, true))
    .limit(1);
  const result = await db
    .insert(users)
    .values({
      id: randomId(),
      username,
      displayName: username,
      passwordHash: await hashPassword(password),
      role: "admin",
      policyGroupId: defaultGroup?.id ?? null,
    })
    .onConflictDoNothing();
  return { created: result.rowsAffected === 1 };
}

/** Creates "Primary store" and the default group "Default" (one rule to it) when no default group exists. */
export async function ensureDefaults(db: AnyDb): Promise<{ created: boolean }> {
  const [defaultGroup] = await db
    .select({ id: policyGroups.id })
    .from(policyGroups)
    .where(eq(policyGroups.isDefault, true))
    .limit(1);
  if (defaultGroup) return { created: false };
  const [existingPolicy] = await db
    .select({ id: storagePolicies.id })
    .from(storagePolicies)
    .where(eq(storagePolicies.name, PRIMARY_STORE_POLICY))
    .limit(1);
  const policyId = existingPolicy?.id ?? randomId();
  const groupId = randomId();
  const policyInsert = db
    .insert(storagePolicies)
    .values({ id: policyId, name: PRIMARY_STORE_POLICY, driver: "primary", keyPrefix: "files" })
    .onConflictDoNothing();
  const groupInsert = db.insert(policyGroups).values({
    id: groupId,
    name: DEFAULT_GROUP,
    description: "Default group for new users: everything on the primary's own store.",
    isDefault: true,
  });
  const ruleInsert = db
    .insert(policyGroupRules)
    .values({ id: randomId(), groupId, policyId, priority: 1, minSize: 0, maxSize: 0 });
  await db.batch([policyInsert, groupInsert, ruleInsert]);
  return { created: true };
}
