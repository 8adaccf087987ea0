// Owns login rate limiting: failures are counted per (IP, username) and per username in fixed windows
// stored in the database (shared by every worker isolate). Each attempt is claimed before its password
// is checked; a key at its limit is locked until its window ends and the caller gets `rate_limited`
// with Retry-After.
import { and, eq, gt, sql } from "drizzle-orm";
import { AppError } from "../../shared/errors.ts";
import type { Db } from "../db/client.ts";
import { loginAttempts } from "../db/schema.ts";
import type { Env } from "../env.ts";

export const LOGIN_WINDOW_MS = 15 * 60 * 1000;

interface LimitKey {
  key: string;
  limit: number;
}

/**
 * The client's address for rate-limit keys, from where it can be trusted (README, "Client addresses"):
 * with TRUSTED_PROXY_HEADER set (the primary reachable only through your reverse proxy), the last
 * address in that header, the one the nearest proxy appended (earlier entries are the client's own
 * words); otherwise CF-Connecting-IP, which Cloudflare's edge sets (overwriting any value a client
 * sent) and workerd sets from the connection in the single-box stack. An IPv6 client is keyed by its
 * /64, which one household or host gets whole. "unknown" when there is no usable address.
 */
export function clientAddress(request: Request, env: Pick<Env, "TRUSTED_PROXY_HEADER">): string {
  const raw = env.TRUSTED_PROXY_HEADER
    ? request.headers.get(env.TRUSTED_PROXY_HEADER)?.split(",").at(-1)
    : request.headers.get("cf-connecting-ip");
  return (raw ? addressKey(raw.trim()) : null) ?? "unknown";
}

/** An IPv4 address as is, an IPv6 one as its /64 prefix; null for anything that is neither. */
function addressKey(text: string): string | null {
  const bare = text.replace(/^\[([^\]]+)\](:\d+)?$/, "$1").replace(/^(\d+\.\d+\.\d+\.\d+):\d+$/, "$1");
  const v4 = /^(?:::ffff:)?((?:\d{1,3}\.){3}\d{1,3})$/i.exec(bare);
  if (v4) return v4[1]!.split(".").every((octet) => Number(octet) <= 255) ? v4[1]! : null;
  if (!/^[0-9a-f:]{2,39}$/i.test(bare) || (bare.match(/::/g)?.length ?? 0) > 1) return null;
  const [head = "", tail] = bare.split("::");
  const left = head === "" ? [] : head.split(":");
  const right = tail === undefined || tail === "" ? [] : tail.split(":");
  const missing = 8 - left.length - right.length;
  if (tail === undefined ? missing !== 0 : missing < 1) return null;
  const groups = [...left, ...Array<string>(missing).fill("0"), ...right];
  if (!groups.every((group) => /^[0-9a-f]{1,4}$/i.test(group))) return null;
  return `${groups
    .slice(0, 4)
    .map((group) => Number.parseInt(group, 16).toString(16))
    .join(":")}::/64`;
}

export function loginKeys(ip: string, username: string): LimitKey[] {
  return [
    { key: `ip:${ip}|user:${username}`, limit: 5 },
    // Caps guessing spread over many addresses.
    { key: `user:${username}`, limit: 20 },
  ];
}

/**
 * Claims one attempt on each key before the password is checked, and refuses (`rate_limited`,
 * Retry-After) when a key already holds `limit` failures in its window. Claimed first and checked in
 * the same statement, so concurrent guesses cannot all pass one read of the counters. The claim stands
 * as the failure; a right password gives it back (loginSucceeded).
 */
export async function claimLoginAttempt(db: Db, keys: LimitKey[], now: Date): Promise<void> {
  const [first, ...rest] = claimStatements(db, keys, now);
  if (!first) return;
  await settleClaims(db, keys, await db.batch([first, ...rest]), now);
}

/**
 * One claim statement per key, for a caller that sends them in one batch with what it reads next (a
 * login reads the user in the same round trip); settleClaims reads their answers.
 */
export function claimStatements(db: Db, keys: LimitKey[], now: Date) {
  const nowMs = now.getTime();
  const expired = sql`${loginAttempts.windowStartedAt} <= ${nowMs - LOGIN_WINDOW_MS}`;
  return keys.map(({ key, limit }) =>
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
        set: {
          failures: sql`case when ${expired} then 1 else ${loginAttempts.failures} + 1 end`,
          windowStartedAt: sql`case when ${expired} then ${nowMs} else ${loginAttempts.windowStartedAt} end`,
          lockedUntil: sql`case when ${expired} then null when ${loginAttempts.failures} + 1 >= ${limit} then ${loginAttempts.windowStartedAt} + ${LOGIN_WINDOW_MS} else null end`,
        },
        setWhere: sql`${expired} or ${loginAttempts.failures} < ${limit}`,
      })
      .returning({ key: loginAttempts.key }),
  );
}

/**
 * Refuses when any key was already at its limit; the keys that were claimed beside it are given back,
 * so a refused attempt counts against none of them.
 */
export async function settleClaims(db: Db, keys: LimitKey[], claims: unknown[][], now: Date): Promise<void> {
  const refused = keys.find((_, i) => (claims[i]?.length ?? 0) === 0);
  if (!refused) return;
  const [first, ...rest] = giveBackStatements(
    db,
    keys.filter((_, i) => (claims[i]?.length ?? 0) > 0),
  );
  if (first) await db.batch([first, ...rest]);
  throw await refusal(db, refused.key, now);
}

async function refusal(db: Db, key: string, now: Date): Promise<AppError> {
  const [row] = await db.select().from(loginAttempts).where(eq(loginAttempts.key, key));
  const until = row ? row.windowStartedAt.getTime() + LOGIN_WINDOW_MS : now.getTime() + LOGIN_WINDOW_MS;
  const seconds = Math.max(1, Math.ceil((until - now.getTime()) / 1000));
  return new AppError("rate_limited", `Too many failed logins. Try again in ${seconds} seconds.`, {
    headers: { "retry-after": String(seconds) },
    details: { retry_after_seconds: seconds },
  });
}

/** Returns claimed attempts that turned out not to be failures. */
function giveBackStatements(db: Db, keys: LimitKey[]) {
  return keys.map(({ key, limit }) =>
    db
      .update(loginAttempts)
      .set({
        failures: sql`${loginAttempts.failures} - 1`,
        lockedUntil: sql`case when ${loginAttempts.failures} - 1 >= ${limit} then ${loginAttempts.lockedUntil} else null end`,
      })
      .where(and(eq(loginAttempts.key, key), gt(loginAttempts.failures, 0))),
  );
}

/** A right password: its claim is given back, and this address's failures for the user are forgotten. */
export async function loginSucceeded(db: Db, keys: LimitKey[]): Promise<void> {
  const [first, ...rest] = successStatements(db, keys);
  if (first) await db.batch([first, ...rest]);
}

/** The statements of loginSucceeded, for a caller that batches them with its own writes. */
export function successStatements(db: Db, keys: LimitKey[]) {
  const [first, ...rest] = keys;
  return [
    ...giveBackStatements(db, rest),
    ...(first ? [db.delete(loginAttempts).where(eq(loginAttempts.key, first.key))] : []),
  ];
}
