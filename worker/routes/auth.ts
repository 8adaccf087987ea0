// Owns /api/v1/auth: login (browser cookie or API token), logout, the caller's own account and
// password. Login is rate limited per address+username and per username; all failures look alike.
// API token management lives in auth-tokens.ts.
import { AppError } from "../../shared/errors.ts";
import { burnPasswordCheck, verifyPassword } from "../accounts/passwords.ts";
import {
  claimLoginAttempt,
  claimStatements,
  clientAddress,
  loginKeys,
  loginSucceeded,
  settleClaims,
  successStatements,
} from "../accounts/rate-limit.ts";
import {
  clearedSessionCookie,
  cookieCanBeSecure,
  prepareSession,
  revokeSession,
  sessionCookie,
} from "../accounts/sessions.ts";
import { changeOwnPassword, userByUsernameStatement } from "../accounts/users.ts";
import { loginBody, loginResponse, meSchema, passwordChangeBody } from "../api/auth.ts";
import { normalizeUsername, toUserOut } from "../api/users.ts";
import { iso } from "../api/wire.ts";
import { defineRoute } from "../http/route.ts";
import { authTokenRoutes } from "./auth-tokens.ts";

const accountRoutes = [
  defineRoute({
    method: "POST",
    path: "/api/v1/auth/login",
    access: "public",
    summary: "Log in with username and password",
    tag: "auth",
    body: loginBody,
    response: loginResponse,
    handler: async ({ request, services, body, headers }) => {
      const { db } = services;
      const now = services.now();
      const username = normalizeUsername(body.username);
      const keys = loginKeys(clientAddress(request, services.env), username);
      // Two round trips: the attempt's claims with the account, then the claims' return with the session.
      const claims = claimStatements(db, keys, now);
      const answers = await db.batch([userByUsernameStatement(db, username), ...claims]);
      const [[user = null], ...claimed] = answers;
      await settleClaims(db, keys, claimed, now);
      if (!user) await burnPasswordCheck(body.password);
      const valid = user !== null && (await verifyPassword(body.password, user.passwordHash));
      if (!user || !valid) {
        services.log.warn("login failed", { username, ip: clientAddress(request, services.env) });
        throw new AppError("invalid_credentials", "Wrong username or password.");
      }
      const succeeded = successStatements(db, keys);
      if (user.disabled) {
        const [first, ...rest] = succeeded;
        if (first) await db.batch([first, ...rest]);
        throw new AppError("account_disabled", "This account is disabled.");
      }
      const { issued: session, insert } = await prepareSession(db, {
        userId: user.id,
        kind: body.client,
        now,
        name: body.token_name,
      });
      await db.batch([insert, ...succeeded]);
      if (body.client === "browser") {
        headers.append(
          "set-cookie",
          sessionCookie(session.token, session.expiresAt, cookieCanBeSecure(request)),
        );
        return { user: toUserOut(user), expires_at: iso(session.expiresAt) };
      }
      return { user: toUserOut(user), expires_at: iso(session.expiresAt), token: session.token };
    },
  }),
  defineRoute({
    method: "POST",
    path: "/api/v1/auth/logout",
    access: "user",
    summary: "End the current session (or revoke the bearer token used)",
    tag: "auth",
    handler: async ({ request, services, user, headers }) => {
      await revokeSession(services.db, user.sessionId);
      if (user.via === "cookie")
        headers.append("set-cookie", clearedSessionCookie(cookieCanBeSecure(request)));
    },
  }),
  defineRoute({
    method: "GET",
    path: "/api/v1/auth/me",
    access: "user",
    summary: "The logged-in account and the teams whose spaces it can use",
    tag: "auth",
    response: meSchema,
    // Everything it answers was read with the session (one round trip in all).
    handler: async ({ user }) => ({
      user: toUserOut(user.row),
      teams: user.teams.map(({ id, name, role }) => ({ id, name, role })),
    }),
  }),
  defineRoute({
    method: "POST",
    path: "/api/v1/auth/password",
    access: "user",
    summary: "Change the caller's password; every other session and token is ended",
    tag: "auth",
    body: passwordChangeBody,
    handler: async ({ request, services, user, body }) => {
      const { db } = services;
      const now = services.now();
      const keys = loginKeys(clientAddress(request, services.env), user.username);
      await claimLoginAttempt(db, keys, now);
      if (!(await verifyPassword(body.current_password, user.row.passwordHash))) {
        throw new AppError("invalid_credentials", "The current password is wrong.");
      }
      await loginSucceeded(db, keys);
      await changeOwnPassword(db, user, body.new_password, now);
    },
  }),
];

export const authRoutes = [...accountRoutes, ...authTokenRoutes];
