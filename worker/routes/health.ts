// Owns GET /health: the primary is up and its database answers.
import { sql } from "drizzle-orm";
import { AppError } from "../../shared/errors.ts";
import { healthSchema } from "../api/health.ts";
import { defineRoute } from "../http/route.ts";

export const healthRoutes = [
  defineRoute({
    method: "GET",
    path: "/health",
    access: "public",
    summary: "Liveness of the primary and reachability of its database",
    tag: "health",
    response: healthSchema,
    handler: async ({ services }) => {
      try {
        await services.db.run(sql`select 1`);
      } catch (cause) {
        throw new AppError("database_unavailable", "The database does not answer.", { cause });
      }
      return { status: "ok" as const, database: "ok" as const };
    },
  }),
];
