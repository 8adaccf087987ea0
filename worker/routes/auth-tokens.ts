// Owns the caller's API tokens: create (value shown once), list (never the values), revoke. Tokens
// are sessions of kind "api", stored as SHA-256 hashes with an expiry.
import { notFound } from "../../shared/errors.ts";
import { createSession, listApiTokens, revokeApiToken } from "../accounts/sessions.ts";
import { createdTokenSchema, createTokenBody, tokenListSchema, toTokenOut } from "../api/auth.ts";
import { idParams, iso } from "../api/wire.ts";
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
      return { tokens: (await listApiTokens(services.db, user.id)).map(toTokenOut) };
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
      if (!(await revokeApiToken(services.db, user.id, params.id))) throw notFound("API token");
    },
  }),
];
