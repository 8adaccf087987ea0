// Owns user records: lookups, creation (bound to the default policy group of the
// moment, so later default changes only affect newer users), and the last-admin guard.
import { and, count, eq, ne } from "drizzle-orm";
import { randomId } from "../../shared/crypto.ts";
import { AppError } from "../../shared/errors.ts";
import { normalizeUsername } from "../api/users.ts";
import type { Db } from "../db/client.ts";
import { uniqueOr } from "../db/constraints.ts";
import { policyGroups, users } from "../db/schema.ts";
import { hashPassword } from "./passwords.ts";

export async function findUser(db: Db, id: string) {
  const [row] = await db.select().from(users).where(eq(users.id, id)).limit(1);
  return row ?? null;
}

export async function findUserByUsername(db: Db, username: string) {
  const [row] = await db
    .select()
    .from(users)
    .where(eq(users.username, normalizeUsername(username)))
    .limit(1);
  return row ?? null;
}

export async function defaultGroupId(db: Db): Promise<string | null> {
  const [row] = await db
    .select({ id: policyGroups.id })
    .from(policyGroups)
    .where(eq(policyGroups.isDefault, true));
  return row?.id ?? null;
}

export async function assertGroupExists(db: Db, groupId: string): Promise<void> {
  const [row] = await db
    .select({ id: policyGroups.id })
    .from(policyGroups)
    .where(eq(policyGroups.id, groupId));
  if (!row)
    throw new AppError("not_found", "No such policy group.", { details: { policy_group_id: groupId } });
}

export async function createUser(
  db: Db,
  input: {
    username: string;
    password: string;
    displayName?: string;
    role?: "admin" | "user";
    policyGroupId?: string | null;
  },
  now: Date,
) {
  const username = normalizeUsername(input.username);
  if (input.policyGroupId) await assertGroupExists(db, input.policyGroupId);
  const policyGroupId = input.policyGroupId === undefined ? await defaultGroupId(db) : input.policyGroupId;
  const row = {
    id: randomId(),
    username,
    displayName: input.displayName ?? username,
    passwordHash: await hashPassword(input.password),
    role: input.role ?? "user",
    disabled: false,
    policyGroupId,
    createdAt: now,
    updatedAt: now,
  } satisfies typeof users.$inferInsert;
  await uniqueOr(
    () => db.insert(users).values(row),
    "username_taken",
    `The username "${username}" is taken.`,
  );
  return row;
}

/** Refuses a change that would leave no enabled admin (`userId` is the one losing admin rights). */
export async function assertNotLastAdmin(db: Db, userId: string): Promise<void> {
  const [row] = await db
    .select({ n: count() })
    .from(users)
    .where(and(eq(users.role, "admin"), eq(users.disabled, false), ne(users.id, userId)));
  if ((row?.n ?? 0) === 0) {
    throw new AppError("last_admin", "This is the last enabled administrator; make another admin first.");
  }
}
