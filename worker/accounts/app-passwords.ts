// Owns app passwords: per-user secrets for clients that cannot log in through a page (WebDAV over
// HTTP Basic). The server generates each one with 192 random bits and shows it once; only its SHA-256
// is stored, as for session tokens. A KDF is not needed for a server-generated secret of that entropy
// (guessing it is hopeless whatever the hash costs), and one per request (~100k PBKDF2 iterations)
// would be far over a Worker's CPU budget for a protocol that authenticates every request.
import { and, eq } from "drizzle-orm";
import { randomId, randomToken, sha256Hex } from "../../shared/crypto.ts";
import { AppError, notFound } from "../../shared/errors.ts";
import { normalizeUsername } from "../api/users.ts";
import { appPasswords, users } from "../db/schema.ts";
import type { Services } from "../services.ts";
import type { AuthUser } from "./auth.ts";
import { claimLoginAttempt, clientAddress, loginKeys } from "./rate-limit.ts";
import { membershipsJson, parseMemberships } from "./sessions.ts";

export type AppPasswordRow = typeof appPasswords.$inferSelect;

const TOUCH_INTERVAL_MS = 5 * 60 * 1000;
/** A user keeps at most this many; revoking old ones makes room. */
export const MAX_APP_PASSWORDS = 50;

export async function createAppPassword(
  services: Services,
  userId: string,
  input: { name: string; readOnly: boolean },
): Promise<{ row: AppPasswordRow; password: string }> {
  const mine = await listAppPasswords(services, userId);
  if (mine.length >= MAX_APP_PASSWORDS) {
    throw new AppError("conflict", `A user can have at most ${MAX_APP_PASSWORDS} app passwords.`);
  }
  const password = randomToken("fap", 24);
  const row: AppPasswordRow = {
    id: randomId(),
    userId,
    name: input.name,
    tokenHash: await sha256Hex(password),
    readOnly: input.readOnly,
    lastUsedAt: null,
    createdAt: services.now(),
  };
  await services.db.insert(appPasswords).values(row);
  return { row, password };
}

export function listAppPasswords(services: Services, userId: string): Promise<AppPasswordRow[]> {
  return services.db
    .select()
    .from(appPasswords)
    .where(eq(appPasswords.userId, userId))
    .orderBy(appPasswords.createdAt);
}

export async function revokeAppPassword(services: Services, userId: string, id: string): Promise<void> {
  const result = await services.db
    .delete(appPasswords)
    .where(and(eq(appPasswords.id, id), eq(appPasswords.userId, userId)));
  if (result.rowsAffected === 0) throw notFound("app password");
}

export interface AppPasswordUser extends AuthUser {
  readOnly: boolean;
}

/** `Basic base64(username:password)` -> the pair, or null when the header is not Basic. */
function basicCredentials(request: Request): { username: string; password: string } | null {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(request.headers.get("authorization") ?? "");
  if (!match?.[1]) return null;
  let text: string;
  try {
    const binary = atob(match[1]);
    text = new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
  } catch {
    return null;
  }
  const colon = text.indexOf(":");
  if (colon < 0) return null;
  return { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

/**
 * The caller of a request authenticated by HTTP Basic with `username:app password`, in one database
 * round trip. A failure is counted against the login rate limits (per address and username, per
 * username) before it is answered: past the limit it is `rate_limited` with Retry-After, otherwise
 * `invalid_credentials`. A right app password is never refused for failures others caused, so a
 * guesser cannot lock a user's sync clients out; with 192 random bits there is nothing to guess.
 */
export async function authenticateAppPassword(
  request: Request,
  services: Services,
): Promise<AppPasswordUser> {
  const credentials = basicCredentials(request);
  if (!credentials) {
    throw new AppError("unauthorized", "Send your username and an app password (HTTP Basic).");
  }
  const username = normalizeUsername(credentials.username);
  const [found] =
    credentials.password.length > 0 && credentials.password.length <= 256
      ? await services.db
          .select({ password: appPasswords, user: users, teams: membershipsJson })
          .from(appPasswords)
          .innerJoin(users, eq(users.id, appPasswords.userId))
          .where(eq(appPasswords.tokenHash, await sha256Hex(credentials.password)))
          .limit(1)
      : [];
  if (!found || found.user.username !== username) {
    const keys = loginKeys(clientAddress(request, services.env), username);
    await claimLoginAttempt(services.db, keys, services.now());
    services.log.warn("app password refused", { username, ip: clientAddress(request, services.env) });
    throw new AppError("invalid_credentials", "Wrong username or app password.");
  }
  if (found.user.disabled) throw new AppError("account_disabled", "This account is disabled.");
  const now = services.now();
  const last = found.password.lastUsedAt;
  if (!last || now.getTime() - last.getTime() > TOUCH_INTERVAL_MS) {
    services.waitUntil(
      services.db
        .update(appPasswords)
        .set({ lastUsedAt: now })
        .where(eq(appPasswords.id, found.password.id))
        .catch((error: unknown) => services.log.warn("app password touch failed", { error: String(error) })),
    );
  }
  return {
    id: found.user.id,
    username: found.user.username,
    role: found.user.role,
    sessionId: found.password.id,
    via: "app_password",
    row: found.user,
    teams: parseMemberships(found.teams),
    readOnly: found.password.readOnly,
  };
}
