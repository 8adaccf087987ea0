// Applies the SQL migrations in migrations/ to the primary's libSQL database. Run as
// `npm run db:migrate` (LIBSQL_URL, optional LIBSQL_AUTH_TOKEN; file:, http(s)://, libsql:// URLs), or
// call migrateDatabase() from the launcher and tests. Never runs inside a request.
import { fileURLToPath } from "node:url";
import { type Client, createClient } from "@libsql/client";
import { drizzle } from "drizzle-orm/libsql";
import { migrate } from "drizzle-orm/libsql/migrator";

export const migrationsFolder = fileURLToPath(new URL("../migrations", import.meta.url));

/** Brings the database behind `client` up to the latest migration; idempotent. */
export async function migrateDatabase(client: Client): Promise<void> {
  await migrate(drizzle(client), { migrationsFolder });
}

/** Where the database is, for messages: the file, or scheme and host (never credentials or query). */
function where(url: string): string {
  if (url.startsWith("file:")) return url;
  const parsed = new URL(url);
  return `${parsed.protocol}//${parsed.host}`;
}

async function main(): Promise<void> {
  const url = process.env.LIBSQL_URL;
  if (!url) {
    console.error("LIBSQL_URL is not set (e.g. LIBSQL_URL=file:data/primary.db npm run db:migrate).");
    process.exit(2);
  }
  const authToken = process.env.LIBSQL_AUTH_TOKEN || undefined;
  const client = createClient(authToken === undefined ? { url } : { url, authToken });
  try {
    await migrateDatabase(client);
    console.log(`Migrations applied to ${where(url)}`);
  } catch (error) {
    console.error(`Migration failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  } finally {
    client.close();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
