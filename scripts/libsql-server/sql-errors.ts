// Owns how failures of a statement are told to the client: the protocol's error codes (as sqld spells
// them, so code written against this server behaves the same against Turso) and engine error mapping.
import type { WireError } from "./wire.ts";

/** A refusal of one stream request, answered as a `{type:"error"}` result; the stream stays usable. */
export class SqlError extends Error {
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.name = "SqlError";
    this.code = code;
  }
}

interface EngineError {
  code: string;
  message: string;
}

function isEngineError(error: unknown): error is EngineError {
  if (!(error instanceof Error) || !("code" in error)) return false;
  return typeof error.code === "string" && error.code.startsWith("SQLITE_");
}

// sqld parses SQL itself and reports syntax errors under its own code; SQLite says "syntax error".
const parseFailure = /syntax error|incomplete input|unrecognized token/;

/**
 * The primary result code, e.g. SQLITE_CONSTRAINT for SQLITE_CONSTRAINT_PRIMARYKEY (primary names
 * carry no underscore). Plain SQLITE_ERROR is SQLITE_UNKNOWN in sqld's vocabulary.
 */
function protocolCode(error: EngineError): string {
  const primary = error.code.split("_").slice(0, 2).join("_");
  if (primary !== "SQLITE_ERROR") return primary;
  return parseFailure.test(error.message) ? "SQL_PARSE_ERROR" : "SQLITE_UNKNOWN";
}

/** True for lock contention that waiting can resolve (not a stale snapshot inside a transaction). */
export function isBusy(error: unknown): boolean {
  return isEngineError(error) && (error.code === "SQLITE_BUSY" || error.code === "SQLITE_BUSY_RECOVERY");
}

/** True for every SQLITE_BUSY variant, stale snapshot included. */
export function isAnyBusy(error: unknown): boolean {
  return isEngineError(error) && error.code.startsWith("SQLITE_BUSY");
}

export function toWireError(error: unknown): WireError {
  if (error instanceof SqlError) return { message: error.message, code: error.code };
  if (isEngineError(error)) return { message: error.message, code: protocolCode(error) };
  // The binding throws plain errors for misuse it detects before SQLite runs (wrong argument shapes).
  const message = error instanceof Error ? error.message : String(error);
  return { message, code: "SQL_INPUT_ERROR" };
}
