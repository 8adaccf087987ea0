// Owns structured logging: one JSON line per event, always carrying the request id. Callers pass
// safe fields only; secrets, tokens and passwords are never logged.

export type LogLevel = "info" | "warn" | "error";
export type LogRecord = { level: LogLevel; msg: string; request_id: string } & Record<string, unknown>;
export type LogSink = (record: LogRecord) => void;

export interface Logger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export const consoleSink: LogSink = (record) => {
  const line = JSON.stringify(record);
  if (record.level === "error") console.error(line);
  else console.log(line);
};

/** Describes a thrown value for logs, following `cause` chains. */
export function describeError(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { value: String(error) };
  const out: Record<string, unknown> = { name: error.name, message: error.message, stack: error.stack };
  if (error.cause !== undefined) out.cause = describeError(error.cause);
  return out;
}

export function createLogger(requestId: string, sink: LogSink = consoleSink): Logger {
  const emit =
    (level: LogLevel) =>
    (msg: string, fields: Record<string, unknown> = {}) =>
      sink({ ...fields, level, msg, request_id: requestId });
  return { info: emit("info"), warn: emit("warn"), error: emit("error") };
}
