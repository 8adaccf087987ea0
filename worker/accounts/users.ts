// Owns user records: lookups, creation (bound to the default policy group of the moment, so later
// default changes only affect newer users), the admin's edits with the last-admin guard, and
// password changes (which end the account's other sessions and tokens).
import { and, asc, count, eq, ne } from "drizzle-orm";
import { randomId } from "../../shared/crypto.ts";
import { AppError, notFound } from "../../shared/errors.ts";
import { normalizeUsername } from "../api/users.ts";
import type { Db } from "../db/client.ts";
import { uniqueOr } from "../db/constraints.ts";
import { policyGroups, sessions, type USER_ROLES, users } from "../db/schema.ts";
import { hashPassword } from "./passwords.ts";
import { revokeUserSessions } from "./sessions.ts";

export async function findUser(db: Db, id: string) {
  const [row] = await db.select().from(users).where(eq(users.id, id)).limit(1);
  return row ?? null;
}

export async function findUserByUsername(db: Db, username: string) {
  const [row] = await userByUsernameStatement(db, username);
  return row ?? null;
}

/** The statement behind findUserByUsername, for a caller that batches it (login). */
export function userByUsernameStatement(db: Db, username: string) {
  return db
    .select()
    .from(users)
    .where(eq(users.username, normalizeUsername(username)))
    .limit(1);
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
  if (typeof input.policyGroupId === "string") await assertGroupExists(db, input.policyGroupId);
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

export async function listUsers(db: Db) {
  return db.select().from(users).orderBy(asc(users.username));
}

type UserRow = typeof users.$inferSelect;

/** An admin's edit; disabling a user or setting their password ends all their sessions and tokens. */
export async function updateUser(
  db: Db,
  row: UserRow,
  input: {
    displayName?: string;
    role?: (typeof USER_ROLES)[number];
    disabled?: boolean;
    password?: string;
    policyGroupId?: string | null;
  },
  now: Date,
): Promise<UserRow> {
  const losesAdmin =
    row.role === "admin" && !row.disabled && (input.role === "user" || input.disabled === true);
  if (losesAdmin) await assertNotLastAdmin(db, row.id);
  if (typeof input.policyGroupId === "string") await assertGroupExists(db, input.policyGroupId);
  const changes: Partial<typeof users.$inferInsert> = { updatedAt: now };
  if (input.displayName !== undefined) changes.displayName = input.displayName;
  if (input.role !== undefined) changes.role = input.role;
  if (input.disabled !== undefined) changes.disabled = input.disabled;
  if (input.policyGroupId !== undefined) changes.policyGroupId = input.policyGroupId;
  if (input.password !== undefined) changes.passwordHash = await hashPassword(input.password);
  await db.update(users).set(changes).where(eq(users.id, row.id));
  if (input.disabled === true || input.password !== undefined) await revokeUserSessions(db, row.id);
  const updated = await findUser(db, row.id);
  if (!updated) throw notFound("user");
  return updated;
}

/** The caller's own password change: every other session and token of the account ends. */
export async function changeOwnPassword(
  db: Db,
  user: { id: string; sessionId: string },
  newPassword: string,
  now: Date,
): Promise<void> {
  await db.batch([
    db
      .update(users)
      .set({ passwordHash: await hashPassword(newPassword), updatedAt: now })
      .where(eq(users.id, user.id)),
    db.delete(sessions).where(and(eq(sessions.userId, user.id), ne(sessions.id, user.sessionId))),
  ]);
}
