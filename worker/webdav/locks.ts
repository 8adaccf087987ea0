// Owns WebDAV locks as data: which live locks apply to a path (its own, and depth-infinity locks of
// its ancestors), conflicts between a new lock and existing ones, and the write guard: a request that
// changes a locked resource (or the membership of a locked collection) must submit, in its If header,
// the token of a lock its own user holds, or it is refused with 423.
import { and, eq, gt, inArray, lte, or, sql } from "drizzle-orm";
import { AppError } from "../../shared/errors.ts";
import { davLocks } from "../db/schema.ts";
import type { Space } from "../files/spaces.ts";
import type { Services } from "../services.ts";
import { href } from "./paths.ts";

export type LockRow = typeof davLocks.$inferSelect;

/** Lock timeouts asked for are capped here (and a lock without one gets the default). */
export const MAX_LOCK_SECONDS = 3600;
export const DEFAULT_LOCK_SECONDS = 600;

/** A lock path: the names inside the space joined by "/", "" for the root. */
export const lockPath = (inner: readonly string[]) => inner.join("/");

const parentPath = (path: string) => (path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : "");

/** True when `ancestor` is a strict ancestor of `path`. */
export function isAncestor(ancestor: string, path: string): boolean {
  if (ancestor === path) return false;
  return ancestor === "" || path.startsWith(`${ancestor}/`);
}

/** The path and all its ancestors, root ("") included. */
function selfAndAncestors(path: string): string[] {
  const out = [""];
  const names = path === "" ? [] : path.split("/");
  for (let i = 1; i <= names.length; i++) out.push(names.slice(0, i).join("/"));
  return out;
}

/** A lock applies to `path` when it is on it, or on an ancestor with depth infinity. */
export function covers(lock: LockRow, path: string): boolean {
  return lock.path === path || (lock.depth === "infinity" && isAncestor(lock.path, path));
}

const likeEscape = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`);

/**
 * Live locks of the space on any of `paths` or their ancestors, and, for the paths in `subtrees`,
 * on anything below them.
 */
export async function locksAround(
  services: Services,
  space: Space,
  paths: string[],
  subtrees: string[] = [],
): Promise<LockRow[]> {
  const exact = [...new Set(paths.flatMap(selfAndAncestors))];
  const below = subtrees.map((p) =>
    p === "" ? sql`1 = 1` : sql`${davLocks.path} like ${`${likeEscape(p)}/%`} escape '\\'`,
  );
  return services.db
    .select()
    .from(davLocks)
    .where(
      and(
        eq(davLocks.spaceKind, space.kind),
        eq(davLocks.spaceId, space.id),
        gt(davLocks.expiresAt, services.now()),
        or(inArray(davLocks.path, exact), ...below),
      ),
    );
}

/** What a write does to a path: change the resource, add or remove it, or remove it with all below. */
export type WriteKind = "self" | "member" | "tree";

export interface WriteTarget {
  space: Space;
  /** The names of the space root under /dav/ (for the lock root's href in a refusal). */
  base: readonly string[];
  path: string;
  kind: WriteKind;
}

/** The names under /dav/ of `path` inside a space whose root is at `base`. */
export const namesOf = (base: readonly string[], path: string) => [
  ...base,
  ...(path === "" ? [] : path.split("/")),
];

function applies(lock: LockRow, target: WriteTarget): boolean {
  if (covers(lock, target.path)) return true;
  // A lock on a collection, whatever its depth, covers the collection's membership.
  if (target.kind !== "self" && target.path !== "" && lock.path === parentPath(target.path)) return true;
  return target.kind === "tree" && isAncestor(target.path, lock.path);
}

/**
 * Refuses (423 locked) a write to `targets` while a lock applies that the request did not submit:
 * every exclusive lock needs its own token, shared locks need one of theirs, and only the user who
 * took a lock can use its token.
 */
export async function guardWrite(
  services: Services,
  userId: string,
  submitted: ReadonlySet<string>,
  targets: WriteTarget[],
): Promise<void> {
  for (const target of targets) {
    const locks = await locksAround(
      services,
      target.space,
      [target.path],
      target.kind === "tree" ? [target.path] : [],
    );
    const relevant = locks.filter((lock) => applies(lock, target));
    if (relevant.length === 0) continue;
    const held = (lock: LockRow) => lock.userId === userId && submitted.has(lock.token);
    const exclusive = relevant.filter((l) => l.scope === "exclusive");
    const shared = relevant.filter((l) => l.scope === "shared");
    const blocking =
      exclusive.find((l) => !held(l)) ?? (shared.length > 0 && !shared.some(held) ? shared[0] : undefined);
    if (blocking) {
      throw new AppError("locked", "The resource is locked; submit the lock token in an If header.", {
        details: { lock_root: href(namesOf(target.base, blocking.path), false) },
      });
    }
  }
}

/** True when a new lock of `scope` and `depth` on `path` can coexist with `existing`. */
export function conflicting(
  existing: LockRow[],
  path: string,
  scope: LockRow["scope"],
  depth: LockRow["depth"],
): LockRow | undefined {
  return existing.find(
    (lock) =>
      (covers(lock, path) || (depth === "infinity" && isAncestor(path, lock.path))) &&
      (lock.scope === "exclusive" || scope === "exclusive"),
  );
}

/** `Timeout: Second-600, Infinite`: the first value we understand, capped; the default otherwise. */
export function lockTimeout(header: string | null): number {
  for (const part of (header ?? "").split(",")) {
    const value = part.trim();
    if (/^infinite$/i.test(value)) return MAX_LOCK_SECONDS;
    const seconds = /^Second-(\d{1,10})$/i.exec(value)?.[1];
    if (seconds !== undefined) return Math.max(1, Math.min(MAX_LOCK_SECONDS, Number(seconds)));
  }
  return DEFAULT_LOCK_SECONDS;
}

/** Locks end with what they lock: a deleted or moved-away path takes the locks on and below it. */
export async function dropLocks(services: Services, space: Space, path: string): Promise<void> {
  const inSpace = and(eq(davLocks.spaceKind, space.kind), eq(davLocks.spaceId, space.id));
  const below =
    path === ""
      ? sql`1 = 1`
      : or(eq(davLocks.path, path), sql`${davLocks.path} like ${`${likeEscape(path)}/%`} escape '\\'`);
  await services.db.delete(davLocks).where(and(inSpace, below));
}

/** The scheduled sweep: expired locks count as gone already; this drops their rows. */
export async function expireLocks(services: Services): Promise<void> {
  await services.db.delete(davLocks).where(lte(davLocks.expiresAt, services.now()));
}
