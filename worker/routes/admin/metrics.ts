// Owns GET /api/v1/admin/metrics: the primary's Prometheus text exposition (worker/metrics/primary.ts).
// Admin access like every admin route: a scraper sends an admin's API token as a bearer token
// (POST /api/v1/auth/tokens), so no second credential exists to leak or rotate.
import { defineRoute } from "../../http/route.ts";
import { EXPOSITION_CONTENT_TYPE, exposition } from "../../metrics/exposition.ts";
import { primaryMetrics } from "../../metrics/primary.ts";

export const metricsRoutes = [
  defineRoute({
    method: "GET",
    path: "/api/v1/admin/metrics",
    access: "admin",
    summary: "Prometheus metrics: follower node state and per-policy counts",
    tag: "admin-metrics",
    raw: [
      {
        status: 200,
        description: "Prometheus text exposition format 0.0.4",
        contentType: "text/plain; version=0.0.4",
      },
    ],
    handler: async ({ services }) =>
      new Response(exposition(await primaryMetrics(services)), {
        headers: { "content-type": EXPOSITION_CONTENT_TYPE, "cache-control": "no-store" },
      }),
  }),
];
