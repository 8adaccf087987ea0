// Owns the caller's API tokens: create (value shown once), list (never the values), revoke. Tokens
// are sessions of kind "api", stored as SHA-256 hashes with an expiry.
import { and, eq } from "drizzle-orm";
import { z } from "zod";
import { notFound } from "../../shared/errors.ts";
import { createSession } from "../accounts/sessions.ts";
import { idParams, iso, timestamp } from "../api/wire.ts";
import { sessions } from "../db/schema.ts";
import { defineRoute } from "../http/route.ts";

const tokenSchema = z.object({
  id: z.string(),
  name: z.string(),
  expires_at: timestamp,
  last_used_at: timestamp.nullable(),
  created_at: timestamp,
});

const createTokenBody = z.object({
  name: z.string().trim().min(1).max(100),
  ttl_days: z.number().int().min(1).max(365).default(90),
});

export const authTokenRoutes = [
  defineRoute({
    method: "GET",
    path: "/api/v1/auth/tokens",
    access: "user",
    summary: "List the caller's API tokens (never the token values)",
    tag: "auth",
    response: z.object({ tokens: z.array(tokenSchema) }),
    handler: async ({ services, user }) => {
      const rows = await services.db
        .select()
        .from(sessions)
        .where(and(eq(sessions.userId, user.id), eq(sessions.kind, "api")));
      return {
        tokens: rows.map((row) => ({
          id: row.id,
          name: row.name,
          expires_at: iso(row.expiresAt),
          last_used_at: iso(row.lastUsedAt),
          created_at: iso(row.createdAt),
        })),
      };
    },
  }),
  defineRoute({
    method: "POST",
    path: "/api/v1/auth/tokens",
    access: "user",
    summary: "Create an API token for the caller (shown once)",
    tag: "auth",
    body: createTokenBody,
    response: z.object({ id: z.string(), name: z.string(), token: z.string(), expires_at: timestamp }),
    status: 201,
    handler: async ({ services, user, body }) => {
      const session = await createSession(services.db, {
        userId: user.id,
        kind: "api",
        now: services.now(),
        name: body.name,
        ttlMs: body.ttl_days * 24 * 3600 * 1000,
      });
      return { id: session.id, name: body.name, token: session.token, expires_at: iso(session.expiresAt) };
    },
  }),
  defineRoute({
    method: "DELETE",
    path: "/api/v1/auth/tokens/:id",
    access: "user",
    summary: "Revoke one of the caller's API tokens",
    tag: "auth",
    params: idParams,
    handler: async ({ services, user, params }) => {
      const result = await services.db
        .delete(sessions)
        .where(and(eq(sessions.id, params.id), eq(sessions.userId, user.id), eq(sessions.kind, "api")));
      if (result.rowsAffected === 0) throw notFound("API token");
    },
  }),
];
