// Owns the resolution preview: which storage policy an upload of a given size by a user (personal
// space) or team (team space) would use, and which rules were skipped on the way.
import { z } from "zod";
import { defineRoute } from "../../http/route.ts";
import { resolvePolicy } from "../../policy/resolve.ts";
import { ruleSchema } from "../../policy/rules.ts";

const resolutionQuery = z
  .object({
    space: z.enum(["personal", "team"]).default("personal"),
    user_id: z.string().optional(),
    team_id: z.string().optional(),
    size: z.coerce.number().int().nonnegative(),
  })
  .refine((q) => (q.space === "personal" ? q.user_id : q.team_id) !== undefined, {
    message: "personal space needs user_id; team space needs team_id",
    path: ["space"],
  });

const resolutionSchema = z.object({
  policy_group: z.object({ id: z.string(), name: z.string() }),
  rule: ruleSchema.omit({ policy_name: true }),
  policy: z.object({ id: z.string(), name: z.string(), driver: z.string(), node_id: z.string().nullable() }),
  skipped: z.array(z.object({ rule_id: z.string(), priority: z.number(), reason: z.string() })),
});

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
      const { group, rule, policy, skipped } = await resolvePolicy(services.db, {
        ...subject,
        size: query.size,
      });
      return {
        policy_group: { id: group.id, name: group.name },
        rule: {
          id: rule.id,
          policy_id: rule.policyId,
          priority: rule.priority,
          min_size: rule.minSize,
          max_size: rule.maxSize,
        },
        policy: { id: policy.id, name: policy.name, driver: policy.driver, node_id: policy.nodeId },
        skipped,
      };
    },
  }),
];
