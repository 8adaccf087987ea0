// Owns small pieces every route module shares: id path params, timestamp output, and turning database
// constraint failures into clear conflict codes.
import { z } from "zod";
import { AppError, type ErrorCode } from "../../shared/errors.ts";

export const idParams = z.object({ id: z.string().min(1).max(64) });

/** Timestamps leave the API as ISO 8601 strings. */
export const timestamp = z.iso.datetime();
export function iso(date: Date): string;
export function iso(date: Date | null): string | null;
export function iso(date: Date | null): string | null {
  return date === null ? null : date.toISOString();
}

export const nameSchema = z.string().trim().min(1).max(100);

/** True when `error` or one of its causes (drizzle wraps driver errors) has a message matching `pattern`. */
function causedBy(error: unknown, pattern: RegExp): boolean {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; depth++) {
    if (pattern.test(current.message)) return true;
    current = current.cause;
  }
  return false;
}

/** A UNIQUE violation (an index, or the cross-table name triggers of migrations/0004). */
export const isUniqueViolation = (error: unknown) => causedBy(error, /UNIQUE constraint failed/i);

export const isForeignKeyViolation = (error: unknown) => causedBy(error, /FOREIGN KEY constraint failed/i);

/**
 * A write refused because the target folder is in the trash (the database's own check,
 * migrations/0006; the caller answers as if the folder were missing).
 */
export const isParentTrashed = (error: unknown) => causedBy(error, /parent folder is in the trash/);

/** Runs `work`, mapping a UNIQUE violation to `code` with `message`; other errors pass through. */
export async function uniqueOr<T>(work: () => Promise<T>, code: ErrorCode, message: string): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (isUniqueViolation(error)) throw new AppError(code, message);
    throw error;
  }
}

export function notFound(what: string): AppError {
  return new AppError("not_found", `No such ${what}.`);
}
