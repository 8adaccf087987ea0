// Owns sessions and API tokens: random bearer secrets of 256 bits handed out once, stored only as
// SHA-256 hashes, with an expiry. Browser sessions travel in a cookie, API tokens in Authorization.
import { and, eq, lt, sql } from "drizzle-orm";
import { randomId, randomToken, sha256Hex } from "../../shared/crypto.ts";
import type { Db } from "../db/client.ts";
import { preparedSelect } from "../db/prepared.ts";
import { sessions, type TEAM_ROLES, users } from "../db/schema.ts";

export const SESSION_COOKIE = "flotilla_session";
export const BROWSER_SESSION_TTL_MS = 7 * 24 * 3600 * 1000;
export const API_TOKEN_TTL_MS = 90 * 24 * 3600 * 1000;

export type SessionKind = "browser" | "api";

export interface IssuedSession {
  id: string;
  token: string;
  expiresAt: Date;
}

type SessionInput = { userId: string; kind: SessionKind; now: Date; name?: string; ttlMs?: number };

/** A new session's secret and the insert that stores it, for a caller that batches it with more. */
export async function prepareSession(db: Db, input: SessionInput) {
  const token = randomToken(input.kind === "browser" ? "fls" : "flt", 32);
  const id = randomId();
  const ttl = input.ttlMs ?? (input.kind === "browser" ? BROWSER_SESSION_TTL_MS : API_TOKEN_TTL_MS);
  const expiresAt = new Date(input.now.getTime() + ttl);
  const insert = db.insert(sessions).values({
    id,
    tokenHash: await sha256Hex(token),
    userId: input.userId,
    kind: input.kind,
    name: input.name ?? "",
    expiresAt,
    createdAt: input.now,
  });
  const issued: IssuedSession = { id, token, expiresAt };
  return { issued, insert };
}

export async function createSession(db: Db, input: SessionInput): Promise<IssuedSession> {
  const { issued, insert } = await prepareSession(db, input);
  await insert;
  return issued;
}

export interface TeamMembership {
  id: string;
  name: string;
  role: (typeof TEAM_ROLES)[number];
  policyGroupId: string | null;
}

/**
 * The user's teams as one JSON array, ordered by name, computed inside the session lookup so that
 * authenticating costs one round trip however many teams there are.
 */
export const membershipsJson = sql<string>`(select json_group_array(json_array(id, name, role, policy_group_id)) from (
  select t.id, t.name, m.role, t.policy_group_id from team_members m join teams t on t.id = m.team_id
  where m.user_id = ${users.id} order by t.name, t.id))`;

/**
 * The session a token opens (by the token's SHA-256), with its user and the user's teams, in one
 * statement; built once per isolate, as every authenticated request runs it.
 */
const sessionLookup = preparedSelect(
  { session: sessions, user: users, teams: membershipsJson },
  (select) =>
    select
      .from(sessions)
      .innerJoin(users, eq(users.id, sessions.userId))
      .where(eq(sessions.tokenHash, sql.placeholder("tokenHash")))
      .limit(1),
  ["tokenHash"],
);

/** The statement that looks a session up by its token's SHA-256, to run alone or in a batch. */
export function sessionStatement(db: Db, tokenHash: string) {
  return sessionLookup.statement(db, { tokenHash });
}

/** The session, its user and teams from what sessionStatement yielded; null if none. */
export function sessionFrom(raw: unknown) {
  const [row] = sessionLookup.rows(raw);
  if (!row) return null;
  return { session: row.session, user: row.user, teams: parseMemberships(row.teams) };
}

/**
 * The id of the user a token's session names, as SQL, for statements sent in the same batch as
 * sessionStatement. It says nothing about the session being valid: their rows count only once the
 * session's own row has been checked.
 */
export const sessionUserId = (tokenHash: string) =>
  sql`(select ${sessions.userId} from ${sessions} where ${sessions.tokenHash} = ${tokenHash})`;

/** The memberships `membershipsJson` selected, as records. */
export function parseMemberships(json: string): TeamMembership[] {
  const tuples = JSON.parse(json) as [string, string, TeamMembership["role"], string | null][];
  return tuples.map(([id, name, role, policyGroupId]) => ({ id, name, role, policyGroupId }));
}

export async function revokeSession(db: Db, sessionId: string): Promise<void> {
  await db.delete(sessions).where(eq(sessions.id, sessionId));
}

export async function revokeUserSessions(db: Db, userId: string): Promise<void> {
  await db.delete(sessions).where(eq(sessions.userId, userId));
}

/** The user's API tokens (sessions of kind "api"); their values are never stored. */
export async function listApiTokens(db: Db, userId: string) {
  return db
    .select()
    .from(sessions)
    .where(and(eq(sessions.userId, userId), eq(sessions.kind, "api")));
}

/** Revokes one of the user's own API tokens; false when it has no such token. */
export async function revokeApiToken(db: Db, userId: string, id: string): Promise<boolean> {
  const result = await db
    .delete(sessions)
    .where(and(eq(sessions.id, id), eq(sessions.userId, userId), eq(sessions.kind, "api")));
  return result.rowsAffected > 0;
}

export async function deleteExpiredSessions(db: Db, now: Date): Promise<number> {
  const result = await db.delete(sessions).where(lt(sessions.expiresAt, now));
  return result.rowsAffected;
}

const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

/**
 * Whether the session cookie can carry `Secure`: always over HTTPS (directly or behind a proxy that
 * says so with X-Forwarded-Proto; a forged header only adds the flag) and on loopback hosts, which
 * browsers treat as secure over plain HTTP. A single box reached over plain HTTP by its LAN address
 * gets a cookie without it: browsers refuse to store a Secure cookie from such a page, so login would
 * fail without a word.
 */
export function cookieCanBeSecure(request: Request): boolean {
  const url = new URL(request.url);
  if (url.protocol === "https:") return true;
  const forwarded = request.headers.get("x-forwarded-proto")?.split(",")[0]?.trim().toLowerCase();
  return forwarded === "https" || LOOPBACK_HOSTS.has(url.hostname) || url.hostname.endsWith(".localhost");
}

function cookieAttributes(secure: boolean): string {
  return `Path=/; HttpOnly;${secure ? " Secure;" : ""} SameSite=Lax`;
}

export function sessionCookie(token: string, expiresAt: Date, secure: boolean): string {
  return `${SESSION_COOKIE}=${token}; ${cookieAttributes(secure)}; Expires=${expiresAt.toUTCString()}`;
}

export function clearedSessionCookie(secure: boolean): string {
  return `${SESSION_COOKIE}=; ${cookieAttributes(secure)}; Max-Age=0`;
}

export async function touchSession(db: Db, sessionId: string, now: Date): Promise<void> {
  await db.update(sessions).set({ lastUsedAt: now }).where(eq(sessions.id, sessionId));
}
