// Owns the wire shape of follower nodes on the admin API: the node record (never the key's secret)
// with its derived enrollment status and last probes as capability summaries, Node Details, the
// enrollment token answer, Test Connection's answer, and the create and edit bodies.
import { z } from "zod";
import { type Capabilities, nodeChannelStateSchema, readinessSchema } from "../../shared/protocol/schemas.ts";
import { storedCapabilities, storedReadiness } from "../db/probes.ts";
import {
  CONNECTIVITIES,
  ENROLLMENT_STATUSES,
  type followerNodes,
  NODE_EVENT_LEVELS,
  type nodeEvents,
} from "../db/schema.ts";
import { ingressTargetSchema } from "./ingress-targets.ts";
import { iso, timestamp } from "./wire.ts";

type NodeRow = typeof followerNodes.$inferSelect;

export const capabilitySummarySchema = z
  .object({
    protocol_version: z.string(),
    protocol_range: z.string(),
    server_version: z.string(),
    features: z.record(z.string(), z.boolean()),
    browser_cors: z.object({
      allowed_origins: z.array(z.string()),
      allowed_headers: z.array(z.string()),
      exposed_headers_get: z.array(z.string()),
      exposed_headers_put: z.array(z.string()),
    }),
    limits: z.record(z.string(), z.number().nullable()),
    default_target: z.string().nullable(),
    ingress_targets: z.array(
      z.object({
        key: z.string(),
        name: z.string(),
        driver: z.string(),
        state: z.string(),
        revision: z.number(),
        applied_revision: z.number().nullable(),
        reason: z.string().nullable(),
        free_bytes: z.number().nullable(),
        total_bytes: z.number().nullable(),
      }),
    ),
  })
  .meta({ id: "CapabilitySummary" });
export type CapabilitySummary = z.infer<typeof capabilitySummarySchema>;

export function summarize(caps: Capabilities): CapabilitySummary {
  return {
    protocol_version: caps.protocol,
    protocol_range: `${caps.protocol_min}-${caps.protocol_max}`,
    server_version: caps.server_version,
    features: caps.features,
    browser_cors: caps.browser_cors,
    limits: caps.limits,
    default_target: caps.default_target,
    ingress_targets: caps.ingress_targets.map((t) => ({
      key: t.key,
      name: t.name,
      driver: t.driver,
      state: t.state,
      revision: t.revision,
      applied_revision: t.applied_revision,
      reason: t.reason,
      free_bytes: t.free_bytes,
      total_bytes: t.total_bytes,
    })),
  };
}

export const enrollmentStatusSchema = z.enum(ENROLLMENT_STATUSES).meta({ id: "EnrollmentStatus" });

/** The stored status, except that a pending token past its expiry reads as expired. */
export function enrollmentStatus(node: NodeRow, now: Date): z.infer<typeof enrollmentStatusSchema> {
  if (
    node.enrollmentStatus === "pending" &&
    node.enrollmentExpiresAt &&
    node.enrollmentExpiresAt.getTime() <= now.getTime()
  ) {
    return "expired";
  }
  return node.enrollmentStatus;
}

export const nodeSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    base_url: z.string(),
    enabled: z.boolean(),
    /** direct: the primary dials base_url; outbound: the follower's own channel carries every call. */
    connectivity: z.enum(CONNECTIVITIES),
    enrollment: z.object({
      status: enrollmentStatusSchema,
      expires_at: timestamp.nullable(),
      enrolled_at: timestamp.nullable(),
    }),
    key_id: z.string().nullable(),
    last_probe: z
      .object({
        at: timestamp,
        ok: z.boolean(),
        error: z.string().nullable(),
        capabilities: capabilitySummarySchema.nullable(),
        /** The follower's /health/ready document taken with this probe; null when it gave none. */
        readiness: readinessSchema.nullable(),
      })
      .nullable(),
    last_good_probe: z.object({ at: timestamp, capabilities: capabilitySummarySchema }).nullable(),
    created_at: timestamp,
    updated_at: timestamp,
  })
  .meta({ id: "Node" });
export type NodeOut = z.infer<typeof nodeSchema>;

/** An outbound node's channel as its object sees it now; null for a direct node (or no binding). */
const channelField = nodeChannelStateSchema.nullable();

export const nodeListSchema = z.object({ nodes: z.array(nodeSchema.extend({ channel: channelField })) });

export function toNodeOut(node: NodeRow, now: Date): NodeOut {
  const last = storedCapabilities(node.lastProbeJson);
  const good = storedCapabilities(node.lastGoodProbeJson);
  return {
    id: node.id,
    name: node.name,
    base_url: node.baseUrl,
    enabled: node.enabled,
    connectivity: node.connectivity,
    enrollment: {
      status: enrollmentStatus(node, now),
      expires_at: node.enrollmentStatus === "completed" ? null : iso(node.enrollmentExpiresAt),
      enrolled_at: iso(node.enrolledAt),
    },
    key_id: node.keyId,
    last_probe: node.lastProbeAt
      ? {
          at: iso(node.lastProbeAt),
          ok: node.lastProbeError === null,
          error: node.lastProbeError,
          capabilities: last ? summarize(last) : null,
          readiness: storedReadiness(node.lastReadinessJson),
        }
      : null,
    last_good_probe:
      node.lastGoodProbeAt && good ? { at: iso(node.lastGoodProbeAt), capabilities: summarize(good) } : null,
    created_at: iso(node.createdAt),
    updated_at: iso(node.updatedAt),
  };
}

export const nodeEventSchema = z
  .object({
    /** When it happened; for a run of the same routine success, the last time. */
    at: timestamp,
    level: z.enum(NODE_EVENT_LEVELS),
    /** probe, binding_push, ingress_push, enrollment, transfer, ... */
    kind: z.string(),
    message: z.string(),
    /** How many times this same routine success happened in a row (1 for anything else). */
    repeats: z.number().int().min(1),
    /** The first time of the run (equal to `at` when repeats is 1). */
    first_at: timestamp,
  })
  .meta({ id: "NodeEvent" });

export function toNodeEventOut(e: typeof nodeEvents.$inferSelect): z.infer<typeof nodeEventSchema> {
  return {
    at: iso(e.at),
    level: e.level,
    kind: e.kind,
    message: e.message,
    repeats: e.repeats,
    first_at: iso(e.firstAt ?? e.at),
  };
}

export const nodeEventsQuery = z.object({
  /** Comma-separated levels to keep, e.g. `warn,error` for the node's problems only. */
  level: z
    .string()
    .regex(/^(info|warn|error)(,(info|warn|error))*$/, "levels are info, warn, error, comma-separated")
    .optional(),
  kind: z.string().min(1).max(64).optional(),
  /** Events before this time (the `next_before` of the previous page). */
  before: z.iso.datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

export const nodeEventListSchema = z
  .object({
    items: z.array(nodeEventSchema),
    /** Pass as `before` for the next, older page; null when this page is the last. */
    next_before: timestamp.nullable(),
  })
  .meta({ id: "NodeEventList" });

export const nodeDetailsSchema = nodeSchema.extend({
  channel: channelField,
  ingress_targets: z.array(ingressTargetSchema),
  policies: z.array(
    z.object({
      id: z.string(),
      name: z.string(),
      /** Policy groups with a rule that routes to this policy (tutorial §11: still enabled?). */
      groups: z.array(
        z.object({ id: z.string(), name: z.string(), enabled: z.boolean(), is_default: z.boolean() }),
      ),
    }),
  ),
  recent_events: z.array(nodeEventSchema),
});

export const bindingSyncSchema = z
  .object({
    state: z.enum(["pushed", "skipped", "failed"]),
    reason: z.string().nullable(),
  })
  .meta({ id: "BindingSync" });
export type BindingSync = z.infer<typeof bindingSyncSchema>;
export const nodeEditedSchema = nodeSchema.extend({ binding_sync: bindingSyncSchema });

/** How long an enrollment token stays redeemable unless the admin asks otherwise. */
export const DEFAULT_ENROLLMENT_TTL_MINUTES = 30;

export const enrollmentTokenBody = z.object({
  ttl_minutes: z.number().int().min(1).max(1440).default(DEFAULT_ENROLLMENT_TTL_MINUTES),
});

export const enrollmentTokenSchema = z
  .object({
    node_id: z.string(),
    token: z.string(),
    expires_at: timestamp,
    /** Two lines (enroll, then start) for the follower's single executable. */
    command: z.string(),
    /** The same two lines from a Flotilla checkout (npm run agent --). */
    command_from_checkout: z.string(),
    /** What must differ for a second agent on the same machine. */
    note: z.string(),
  })
  .meta({ id: "EnrollmentToken" });

export const testResultSchema = z
  .object({
    ok: z.literal(true),
    protocol_version: z.string(),
    server_version: z.string(),
    capabilities: capabilitySummarySchema,
    /** The follower's /health/ready answer; null when it gave none. */
    readiness: readinessSchema.nullable(),
    /** How the probe reached the follower: dialling base_url, or through its channel. */
    path: z.enum(["base_url", "channel"]),
    /** The channel's state seen from the primary (outbound nodes); null for a direct node. */
    channel: channelField,
    node: nodeSchema,
  })
  .meta({ id: "NodeTestResult" });

const name = z.string().trim().min(1).max(200);

export const createNodeBody = z.object({
  name,
  base_url: z.string().max(2048).default(""),
  enabled: z.boolean().default(true),
  connectivity: z.enum(CONNECTIVITIES).default("direct"),
});

export const editNodeBody = z
  .object({
    name: name.optional(),
    base_url: z.string().max(2048).optional(),
    enabled: z.boolean().optional(),
    connectivity: z.enum(CONNECTIVITIES).optional(),
  })
  .refine((b) => Object.keys(b).length > 0, { message: "nothing to change" });
