// Owns who is calling: resolves a bearer token or session cookie to a user, refuses expired sessions
// and disabled accounts, enforces the Origin check on cookie-authenticated writes, and the role guards.
// One database round trip authenticates: the session, its user and the user's team memberships come
// back from one statement (sessions.ts), so routes that need only those pay nothing more. A route may
// send its first reads in that same round trip (authenticateWith): they are read-only, name the
// caller's user id as SQL, and their rows are handed over only once the session has been checked.
import type { SQL } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { sha256Hex } from "../../shared/crypto.ts";
import { AppError } from "../../shared/errors.ts";
import type { users } from "../db/schema.ts";
import type { Services } from "../services.ts";
import {
  revokeSession,
  SESSION_COOKIE,
  sessionFrom,
  sessionStatement,
  sessionUserId,
  type TeamMembership,
  touchSession,
} from "./sessions.ts";

export interface AuthUser {
  id: string;
  username: string;
  role: "admin" | "user";
  /** The session or API token used; for WebDAV, the app password's id. */
  sessionId: string;
  /** How the credential arrived; cookie-authenticated writes get the Origin check. */
  via: "cookie" | "bearer" | "app_password";
  /** The account's row as read with the session, in the same statement. */
  row: typeof users.$inferSelect;
  /** The teams the user belongs to, by name, as read with the session. */
  teams: TeamMembership[];
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
const TOUCH_INTERVAL_MS = 5 * 60 * 1000;

export function readCookie(request: Request, name: string): string | null {
  const header = request.headers.get("cookie");
  if (!header) return null;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

/** The credential a request carries (bearer token or session cookie), unchecked; null if none. */
export function readCredential(request: Request): { token: string; via: AuthUser["via"] } | null {
  const authorization = request.headers.get("authorization");
  if (authorization) {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization);
    if (!match?.[1]) throw new AppError("unauthorized", "The Authorization header must be `Bearer <token>`.");
    return { token: match[1], via: "bearer" };
  }
  const cookie = readCookie(request, SESSION_COOKIE);
  return cookie ? { token: cookie, via: "cookie" } : null;
}

/** Origins allowed to make cookie-authenticated writes: PUBLIC_URL and the origin the request came to. */
export function checkOrigin(request: Request, services: Services): void {
  if (SAFE_METHODS.has(request.method)) return;
  const allowed = new Set([new URL(request.url).origin]);
  if (services.env.PUBLIC_URL) allowed.add(services.env.PUBLIC_URL);
  const origin = request.headers.get("origin");
  if (origin !== null ? allowed.has(origin) : request.headers.get("sec-fetch-site") === "same-origin") return;
  throw new AppError("origin_mismatch", "This request must come from the Flotilla web console's own origin.");
}

/** The caller, or null when the request carries no credential. Invalid credentials throw 401. */
export async function authenticate(request: Request, services: Services): Promise<AuthUser | null> {
  return (await authenticateWith(request, services)).user;
}

/** Read-only statements sent with the session's, given the caller's user id as SQL. */
export type AuthReads = (userId: SQL) => BatchItem<"sqlite">[];

/**
 * authenticate, with `reads` in the same round trip as the session's statement. Their rows (in order)
 * come back only for a valid session of an enabled account; without a credential nothing is read.
 */
export async function authenticateWith(
  request: Request,
  services: Services,
  reads?: AuthReads,
): Promise<{ user: AuthUser | null; rows: unknown[] }> {
  const credential = readCredential(request);
  if (!credential) return { user: null, rows: [] };
  const tokenHash = await sha256Hex(credential.token);
  const lookup = sessionStatement(services.db, tokenHash);
  // Reads that cannot be built (a malformed cursor, say) are refused only once the session holds.
  let refusal: { error: unknown } | null = null;
  let extra: ReturnType<AuthReads> = [];
  try {
    extra = reads?.(sessionUserId(tokenHash)) ?? [];
  } catch (error) {
    refusal = { error };
  }
  const [sessionRows, ...rows] =
    extra.length === 0 ? [await lookup] : await services.db.batch([lookup, ...extra]);
  const found = sessionFrom(sessionRows);
  if (!found) throw new AppError("unauthorized", "The session or token is not valid. Log in again.");
  const { session, user, teams } = found;
  const now = services.now();
  if (session.expiresAt.getTime() <= now.getTime()) {
    await revokeSession(services.db, session.id);
    throw new AppError("session_expired", "The session has expired. Log in again.");
  }
  if (user.disabled) throw new AppError("account_disabled", "This account is disabled.");
  if (credential.via === "cookie") checkOrigin(request, services);
  if (!session.lastUsedAt || now.getTime() - session.lastUsedAt.getTime() > TOUCH_INTERVAL_MS) {
    services.waitUntil(
      touchSession(services.db, session.id, now).catch((error: unknown) =>
        services.log.warn("session touch failed", { error: String(error) }),
      ),
    );
  }
  if (refusal) throw refusal.error;
  return {
    user: {
      id: user.id,
      username: user.username,
      role: user.role,
      sessionId: session.id,
      via: credential.via,
      row: user,
      teams,
    },
    rows,
  };
}

export function requireUser(user: AuthUser | null): AuthUser {
  if (!user) throw new AppError("unauthorized", "Log in to continue.");
  return user;
}

export function requireAdmin(user: AuthUser | null): AuthUser {
  const known = requireUser(user);
  if (known.role !== "admin") throw new AppError("admin_required", "This action needs an administrator.");
  return known;
}
