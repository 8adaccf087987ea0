// Owns the caller's API tokens: create (value shown once), list (never the values), revoke. Tokens
// are sessions of kind "api", stored as SHA-256 hashes with an expiry.
import { and, eq } from "drizzle-orm";
import { notFound } from "../../shared/errors.ts";
import { createSession } from "../accounts/sessions.ts";
import { createdTokenSchema, createTokenBody, tokenListSchema, toTokenOut } from "../api/auth.ts";
import { idParams, iso } from "../api/wire.ts";
import { sessions } from "../db/schema.ts";
import { defineRoute } from "../http/route.ts";

export const authTokenRoutes = [
  defineRoute({
    method: "GET",
    path: "/api/v1/auth/tokens",
    access: "user",
    summary: "List the caller's API tokens (never the token values)",
    tag: "auth",
    response: tokenListSchema,
    handler: async ({ services, user }) => {
      const rows = await services.db
        .select()
        .from(sessions)
        .where(and(eq(sessions.userId, user.id), eq(sessions.kind, "api")));
      return { tokens: rows.map(toTokenOut) };
    },
  }),
  defineRoute({
    method: "POST",
    path: "/api/v1/auth/tokens",
    access: "user",
    summary: "Create an API token for the caller (shown once)",
    tag: "auth",
    body: createTokenBody,
    response: createdTokenSchema,
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
