// drizzle-kit configuration: `npm run db:generate` writes SQL migrations from worker/db/schema.ts into
// migrations/. Applying them is scripts/migrate.ts (`npm run db:migrate`), not drizzle-kit.
import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "turso",
  schema: "./worker/db/schema.ts",
  out: "./migrations",
  dbCredentials: {
    url: process.env.LIBSQL_URL ?? "file:data/primary.db",
    authToken: process.env.LIBSQL_AUTH_TOKEN,
  },
});
