// Owns the wire shape of /api/v1/auth: login and its answer, the caller's account with the team
// spaces it can use, the password change, and API tokens (listed without their values).
import { z } from "zod";
import { type sessions, TEAM_ROLES } from "../db/schema.ts";
import { passwordSchema, userSchema } from "./users.ts";
import { iso, timestamp } from "./wire.ts";

export const loginBody = z.object({
  username: z.string().trim().min(1).max(64),
  password: z.string().min(1).max(1024),
  /** browser: session cookie (HttpOnly, Secure, SameSite=Lax); api: a bearer token in the body. */
  client: z.enum(["browser", "api"]).default("browser"),
  token_name: z.string().trim().max(100).optional(),
});

export const loginResponse = z.object({
  user: userSchema,
  expires_at: timestamp,
  /** Only for client "api": shown once, send as `Authorization: Bearer <token>`. */
  token: z.string().optional(),
});

/** A team space the caller can use: its id is the `:space` in /api/v1/spaces/:space/... */
export const myTeamSchema = z
  .object({ id: z.string(), name: z.string(), role: z.enum(TEAM_ROLES) })
  .meta({ id: "MyTeam" });

export const meSchema = z.object({ user: userSchema, teams: z.array(myTeamSchema) }).meta({ id: "Me" });

export const passwordChangeBody = z.object({
  current_password: z.string().min(1).max(1024),
  new_password: passwordSchema,
});

export const tokenSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    expires_at: timestamp,
    last_used_at: timestamp.nullable(),
    created_at: timestamp,
  })
  .meta({ id: "ApiToken" });

export function toTokenOut(row: typeof sessions.$inferSelect): z.infer<typeof tokenSchema> {
  return {
    id: row.id,
    name: row.name,
    expires_at: iso(row.expiresAt),
    last_used_at: iso(row.lastUsedAt),
    created_at: iso(row.createdAt),
  };
}

export const tokenListSchema = z.object({ tokens: z.array(tokenSchema) });

export const createTokenBody = z.object({
  name: z.string().trim().min(1).max(100),
  ttl_days: z.number().int().min(1).max(365).default(90),
});

/** A new token: its value is shown this once. */
export const createdTokenSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    token: z.string(),
    expires_at: timestamp,
  })
  .meta({ id: "CreatedApiToken" });
