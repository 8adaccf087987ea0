// Owns GET /health: the primary is up and its database answers.
import { healthSchema } from "../api/health.ts";
import { pingDatabase } from "../db/client.ts";
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
      await pingDatabase(services.db);
      return { status: "ok" as const, database: "ok" as const };
    },
  }),
];
