// Owns the resolution preview: which storage policy an upload of a given size by a user (personal
// space) or team (team space) would use, and which rules were skipped on the way.
import { resolutionQuery, resolutionSchema, toResolutionOut } from "../../api/policy-groups.ts";
import { defineRoute } from "../../http/route.ts";
import { resolvePolicy } from "../../policy-groups/resolve.ts";

export const policyResolutionRoutes = [
  defineRoute({
    method: "GET",
    path: "/api/v1/admin/policy-resolution",
    access: "admin",
    summary: "Which storage policy an upload of `size` bytes by this user or team would use",
    tag: "policy-groups",
    query: resolutionQuery,
    response: resolutionSchema,
    handler: async ({ services, query }) => {
      const subject =
        query.space === "personal"
          ? { space: "personal" as const, userId: query.user_id ?? "" }
          : { space: "team" as const, teamId: query.team_id ?? "" };
      return toResolutionOut(await resolvePolicy(services.db, { ...subject, size: query.size }));
    },
  }),
];
