// Owns structured logging: one JSON object per line on stderr. Callers pass paths, never query strings
// (they carry signatures) and never secrets.

export type LogFields = Record<string, string | number | boolean | null | undefined>;

export interface Logger {
  info(message: string, fields?: LogFields): void;
  error(message: string, fields: LogFields, error?: unknown): void;
}

function errorText(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? ` (cause: ${error.cause.message})` : "";
    return `${error.name}: ${error.message}${cause}`;
  }
  return String(error);
}

export function createLogger(write: (line: string) => void = (line) => process.stderr.write(line)): Logger {
  const emit = (level: string, message: string, fields: Record<string, unknown>) =>
    write(`${JSON.stringify({ time: new Date().toISOString(), level, message, ...fields })}\n`);
  return {
    info: (message, fields = {}) => emit("info", message, fields),
    error: (message, fields, error) =>
      emit("error", message, error === undefined ? fields : { ...fields, error: errorText(error) }),
  };
}
