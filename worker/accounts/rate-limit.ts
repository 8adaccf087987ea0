// Owns login rate limiting: failures are counted per (IP, username) and per username in fixed windows
// stored in the database (shared by every worker isolate). A key over its limit is locked until its
// window ends and the caller gets `rate_limited` with Retry-After.
import { inArray, sql } from "drizzle-orm";
import { AppError } from "../../shared/errors.ts";
import type { Db } from "../db/client.ts";
import { loginAttempts } from "../db/schema.ts";

export const LOGIN_WINDOW_MS = 15 * 60 * 1000;

interface LimitKey {
  key: string;
  limit: number;
}

/** Workers put the client address in CF-Connecting-IP; elsewhere we only know "unknown". */
export function clientIp(request: Request): string {
  return request.headers.get("cf-connecting-ip") ?? "unknown";
}

export function loginKeys(ip: string, username: string): LimitKey[] {
  return [
    { key: `ip:${ip}|user:${username}`, limit: 5 },
    // Caps guessing spread over many addresses.
    { key: `user:${username}`, limit: 20 },
  ];
}

export async function assertLoginAllowed(db: Db, keys: LimitKey[], now: Date): Promise<void> {
  const rows = await db
    .select()
    .from(loginAttempts)
    .where(
      inArray(
        loginAttempts.key,
        keys.map((k) => k.key),
      ),
    );
  const lockedUntil = Math.max(0, ...rows.map((row) => row.lockedUntil?.getTime() ?? 0));
  if (lockedUntil > now.getTime()) {
    const seconds = Math.ceil((lockedUntil - now.getTime()) / 1000);
    throw new AppError("rate_limited", `Too many failed logins. Try again in ${seconds} seconds.`, {
      headers: { "retry-after": String(seconds) },
      details: { retry_after_seconds: seconds },
    });
  }
}

export async function recordLoginFailure(db: Db, keys: LimitKey[], now: Date): Promise<void> {
  const nowMs = now.getTime();
  const expired = sql`${loginAttempts.windowStartedAt} <= ${nowMs - LOGIN_WINDOW_MS}`;
  const [first, ...rest] = keys.map(({ key, limit }) =>
    db
      .insert(loginAttempts)
      .values({
        key,
        failures: 1,
        windowStartedAt: now,
        lockedUntil: limit <= 1 ? new Date(nowMs + LOGIN_WINDOW_MS) : null,
      })
      .onConflictDoUpdate({
        target: loginAttempts.key,
        // SET expressions see the row as it was before this update.
        set: {
          failures: sql`case when ${expired} then 1 else ${loginAttempts.failures} + 1 end`,
          windowStartedAt: sql`case when ${expired} then ${nowMs} else ${loginAttempts.windowStartedAt} end`,
          lockedUntil: sql`case when ${expired} then null when ${loginAttempts.failures} + 1 >= ${limit} then ${loginAttempts.windowStartedAt} + ${LOGIN_WINDOW_MS} else null end`,
        },
      }),
  );
  if (first) await db.batch([first, ...rest]);
}

/** A successful login forgets this address's failures for the user (not the per-user total). */
export async function clearLoginFailures(db: Db, keys: LimitKey[]): Promise<void> {
  const first = keys[0];
  if (first) await db.delete(loginAttempts).where(inArray(loginAttempts.key, [first.key]));
}
