// Owns how a write refused by the database itself is recognised: UNIQUE and FOREIGN KEY constraints
// and the triggers of the migrations, matched through drizzle's wrapped driver errors, so callers can
// answer a clear conflict code instead of a 500.
import { AppError, type ErrorCode } from "../../shared/errors.ts";

/** `error` and its causes, outermost first (drizzle and the libSQL client wrap what they got). */
function causes(error: unknown): Error[] {
  const chain: Error[] = [];
  for (let current = error; current instanceof Error && chain.length < 5; current = current.cause) {
    chain.push(current);
  }
  return chain;
}

/** True when `error` or one of its causes has a message matching `pattern`. */
const causedBy = (error: unknown, pattern: RegExp) =>
  causes(error).some((cause) => pattern.test(cause.message));

/** A UNIQUE violation (an index, or the cross-table name triggers of migrations/0004). */
export const isUniqueViolation = (error: unknown) => causedBy(error, /UNIQUE constraint failed/i);

export const isForeignKeyViolation = (error: unknown) => causedBy(error, /FOREIGN KEY constraint failed/i);

/**
 * A write refused because the target folder is in the trash (the database's own check,
 * migrations/0006; the caller answers as if the folder were missing).
 */
export const isParentTrashed = (error: unknown) => causedBy(error, /parent folder is in the trash/);

/**
 * The coded answer for a database failure that no caller mapped itself: the database unreachable
 * (`database_unavailable` raised by the client's transport, worker/db/client.ts, under drizzle's
 * wrapping) keeps its 503; a FOREIGN KEY violation is a request naming a record that does not exist
 * (or no longer does, removed between the caller's check and its write), answered 409 `conflict`
 * instead of a 500. Undefined for anything else.
 */
export function databaseRefusal(error: unknown): AppError | undefined {
  if (error instanceof AppError) return undefined;
  const below = causes(error).find((cause): cause is AppError => cause instanceof AppError);
  if (below?.code === "database_unavailable") return below;
  if (isForeignKeyViolation(error)) {
    return new AppError("conflict", "The request refers to a record that does not exist.", { cause: error });
  }
  return undefined;
}

/** Runs `work`, mapping a UNIQUE violation to `code` with `message`; other errors pass through. */
export async function uniqueOr<T>(work: () => Promise<T>, code: ErrorCode, message: string): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (isUniqueViolation(error)) throw new AppError(code, message);
    throw error;
  }
}
