// Creates the first admin account (and the default policy group) in a deployed primary's database:
//   LIBSQL_URL=... LIBSQL_AUTH_TOKEN=... FLOTILLA_ADMIN_PASSWORD=... node scripts/create-admin.ts <username>
// The password comes from FLOTILLA_ADMIN_PASSWORD or, when unset, is generated and printed once.
import { createClient } from "@libsql/client";
import { drizzle } from "drizzle-orm/libsql";
import { randomToken } from "../shared/crypto.ts";
import { ensureAdmin, ensureDefaults } from "../worker/accounts/bootstrap.ts";

const username = process.argv[2] ?? "admin";
const url = process.env.LIBSQL_URL;
if (!url) {
  console.error("LIBSQL_URL is not set. Run `npm run db:migrate` against the same database first.");
  process.exit(2);
}
const authToken = process.env.LIBSQL_AUTH_TOKEN || undefined;
const client = createClient(authToken === undefined ? { url } : { url, authToken });
const given = process.env.FLOTILLA_ADMIN_PASSWORD;
const password = given || randomToken("pw", 15).slice(3);
try {
  const db = drizzle(client);
  await ensureDefaults(db);
  const { created } = await ensureAdmin(db, { username, password });
  if (!created) console.log(`User "${username}" already exists; nothing changed.`);
  else if (given) console.log(`Admin "${username}" created with the password from FLOTILLA_ADMIN_PASSWORD.`);
  else console.log(`Admin "${username}" created. Password (shown once): ${password}`);
} catch (error) {
  console.error(`Could not create the admin: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
} finally {
  client.close();
}
