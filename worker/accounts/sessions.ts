// Owns sessions and API tokens: random bearer secrets of 256 bits handed out once, stored only as
// SHA-256 hashes, with an expiry. Browser sessions travel in a cookie, API tokens in Authorization.
import { eq, lt } from "drizzle-orm";
import { randomId, randomToken, sha256Hex } from "../../shared/crypto.ts";
import type { Db } from "../db/client.ts";
import { sessions } from "../db/schema.ts";

export const SESSION_COOKIE = "flotilla_session";
export const BROWSER_SESSION_TTL_MS = 7 * 24 * 3600 * 1000;
export const API_TOKEN_TTL_MS = 90 * 24 * 3600 * 1000;

export type SessionKind = "browser" | "api";

export interface IssuedSession {
  id: string;
  token: string;
  expiresAt: Date;
}

export async function createSession(
  db: Db,
  input: { userId: string; kind: SessionKind; now: Date; name?: string; ttlMs?: number },
): Promise<IssuedSession> {
  const token = randomToken(input.kind === "browser" ? "fls" : "flt", 32);
  const id = randomId();
  const ttl = input.ttlMs ?? (input.kind === "browser" ? BROWSER_SESSION_TTL_MS : API_TOKEN_TTL_MS);
  const expiresAt = new Date(input.now.getTime() + ttl);
  await db.insert(sessions).values({
    id,
    tokenHash: await sha256Hex(token),
    userId: input.userId,
    kind: input.kind,
    name: input.name ?? "",
    expiresAt,
    createdAt: input.now,
  });
  return { id, token, expiresAt };
}

export async function findSessionByToken(db: Db, token: string) {
  const [row] = await db
    .select()
    .from(sessions)
    .where(eq(sessions.tokenHash, await sha256Hex(token)))
    .limit(1);
  return row ?? null;
}

export async function revokeSession(db: Db, sessionId: string): Promise<void> {
  await db.delete(sessions).where(eq(sessions.id, sessionId));
}

export async function revokeUserSessions(db: Db, userId: string): Promise<void> {
  await db.delete(sessions).where(eq(sessions.userId, userId));
}

export async function deleteExpiredSessions(db: Db, now: Date): Promise<number> {
  const result = await db.delete(sessions).where(lt(sessions.expiresAt, now));
  return result.rowsAffected;
}

export function sessionCookie(token: string, expiresAt: Date): string {
  return `${SESSION_COOKIE}=${token}; Path=/; HttpOnly; Secure; SameSite=Lax; Expires=${expiresAt.toUTCString()}`;
}

export function clearedSessionCookie(): string {
  return `${SESSION_COOKIE}=; Path=/; HttpOnly; Secure; SameSite=Lax; Max-Age=0`;
}

export async function touchSession(db: Db, sessionId: string, now: Date): Promise<void> {
  await db.update(sessions).set({ lastUsedAt: now }).where(eq(sessions.id, sessionId));
}
