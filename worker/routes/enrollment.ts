// The public endpoint an agent redeems its one-time enrollment token at (protocol v2 enrollment; the
// token is the credential). Answers the node's key id and secret exactly once.
import { redeemRequestSchema, redeemResponseSchema } from "../../shared/protocol/schemas.ts";
import { redeemEnrollment } from "../followers/enrollment.ts";
import { primaryOrigin } from "../http/origin.ts";
import { defineRoute } from "../http/route.ts";

export const enrollmentRoutes = [
  defineRoute({
    method: "POST",
    path: "/api/v1/enrollment/redeem",
    access: "public",
    summary: "Redeem a one-time enrollment token (called by the follower agent)",
    tag: "enrollment",
    body: redeemRequestSchema,
    response: redeemResponseSchema,
    handler: async ({ services, body, request, headers }) => {
      headers.set("cache-control", "no-store");
      return redeemEnrollment(services, body, primaryOrigin(services, request));
    },
  }),
];
