// Owns the per-request service bundle handed explicitly to every handler and scheduled task: validated
// env, database, logger with request id, clock, outbound fetch and waitUntil. Nothing here is global.
import type { Db } from "./db/client.ts";
import { openDb } from "./db/client.ts";
import type { Env } from "./env.ts";
import { createLogger, type Logger, type LogSink } from "./logger.ts";

/** The part of the Workers ExecutionContext we use; tests pass a plain object. */
export interface WorkerContext {
  waitUntil(promise: Promise<unknown>): void;
}

/** Overrides for in-process use (tests, the Node launcher). Everything defaults to the real runtime. */
export interface AppDeps {
  /** A ready drizzle db (e.g. over `@libsql/client` with a `file:` URL); otherwise opened from env. */
  db?: Db;
  /** Outbound fetch for follower/S3 clients; tests inject one that fails loudly on unexpected calls. */
  fetch?: typeof fetch;
  now?: () => Date;
  logSink?: LogSink;
}

export interface Services {
  env: Env;
  db: Db;
  log: Logger;
  requestId: string;
  now: () => Date;
  fetch: typeof fetch;
  waitUntil: (promise: Promise<unknown>) => void;
}

export function createServices(
  env: Env,
  ctx: WorkerContext,
  requestId: string,
  deps: AppDeps = {},
): Services {
  return {
    env,
    db: deps.db ?? openDb(env),
    log: createLogger(requestId, deps.logSink),
    requestId,
    now: deps.now ?? (() => new Date()),
    fetch: deps.fetch ?? ((input, init) => fetch(input, init)),
    waitUntil: (promise) => ctx.waitUntil(promise),
  };
}
