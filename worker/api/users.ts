// Owns the wire shape of user accounts: the user as the API shows it, the admin's create and edit
// bodies, and the username and password rules (bootstrap and login apply the same ones).
import { z } from "zod";
import { USER_ROLES, type users } from "../db/schema.ts";
import { idRef, iso, timestamp } from "./wire.ts";

export const usernameSchema = z
  .string()
  .trim()
  .min(2)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, {
    message: "use letters, digits, dot, underscore or hyphen, starting with a letter or digit",
  });

export const passwordSchema = z.string().min(10, { message: "must be at least 10 characters" }).max(1024);

/** Usernames are stored and compared trimmed and lowercased. */
export function normalizeUsername(username: string): string {
  return username.trim().toLowerCase();
}

export const userSchema = z
  .object({
    id: z.string(),
    username: z.string(),
    display_name: z.string(),
    role: z.enum(USER_ROLES),
    disabled: z.boolean(),
    /** null: follows whatever group is the default at upload time. */
    policy_group_id: z.string().nullable(),
    created_at: timestamp,
    updated_at: timestamp,
  })
  .meta({ id: "User" });
export type UserOut = z.infer<typeof userSchema>;

export const userListSchema = z.object({ users: z.array(userSchema) });

export function toUserOut(row: typeof users.$inferSelect): UserOut {
  return {
    id: row.id,
    username: row.username,
    display_name: row.displayName,
    role: row.role,
    disabled: row.disabled,
    policy_group_id: row.policyGroupId,
    created_at: iso(row.createdAt),
    updated_at: iso(row.updatedAt),
  };
}

export const createUserBody = z.object({
  username: usernameSchema,
  password: passwordSchema,
  display_name: z.string().trim().max(100).optional(),
  role: z.enum(USER_ROLES).default("user"),
  /** Omitted: the current default group. null: always follow the default group. */
  policy_group_id: idRef.nullable().optional(),
});

export const updateUserBody = z
  .object({
    display_name: z.string().trim().max(100),
    role: z.enum(USER_ROLES),
    disabled: z.boolean(),
    password: passwordSchema,
    policy_group_id: idRef.nullable(),
  })
  .partial();
