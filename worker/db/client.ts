// Owns how the worker reaches libSQL: `@libsql/client/web` (HTTP, runs in workerd) wrapped in drizzle,
// and whether it answers. Node callers (tests, launcher, scripts) build the same Db type over
// `@libsql/client`. The worker's drizzle is given no schema: nothing uses relational queries
// (`db.query`), and deriving their configuration from the schema was a tenth of the CPU time of a
// small request (it ran for every request).
import { createClient } from "@libsql/client/web";
import { sql } from "drizzle-orm";
import type { LibSQLDatabase } from "drizzle-orm/libsql";
import { drizzle } from "drizzle-orm/libsql/web";
import { AppError } from "../../shared/errors.ts";
import type { Env } from "../env.ts";
import * as schema from "./schema.ts";

/** Query builders only (no `db.query`); a drizzle built with the schema is one too. */
export type Db = LibSQLDatabase<Record<string, unknown>>;
export { schema };

/**
 * The database's transport: a request libSQL never answers (connection refused, reset, lost halfway)
 * fails as `database_unavailable` (503), which drizzle and the client keep as the cause of what they
 * throw, so the answer says the database is down rather than a generic 500.
 */
const databaseFetch = async (request: Request): Promise<Response> => {
  try {
    return await fetch(request);
  } catch (cause) {
    throw new AppError("database_unavailable", "The database does not answer.", { cause });
  }
};

/** Opens the database over HTTP for one request. */
export function openDb(env: Pick<Env, "LIBSQL_URL" | "LIBSQL_AUTH_TOKEN">): Db {
  if (env.LIBSQL_URL.startsWith("file:")) {
    throw new AppError("config_invalid", "The server configuration is invalid: LIBSQL_URL.", {
      details: [
        {
          key: "LIBSQL_URL",
          problem: "the worker reaches libSQL over HTTP; file: URLs need a libSQL server",
        },
      ],
    });
  }
  const client = createClient(
    env.LIBSQL_AUTH_TOKEN === undefined
      ? { url: env.LIBSQL_URL, fetch: databaseFetch }
      : { url: env.LIBSQL_URL, authToken: env.LIBSQL_AUTH_TOKEN, fetch: databaseFetch },
  );
  return drizzle(client);
}

/** Asks the database for the simplest answer; database_unavailable when it gives none. */
export async function pingDatabase(db: Db): Promise<void> {
  try {
    await db.run(sql`select 1`);
  } catch (cause) {
    throw new AppError("database_unavailable", "The database does not answer.", { cause });
  }
}
