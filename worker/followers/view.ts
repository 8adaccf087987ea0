// Owns what the admin API shows of a follower node: its record (never the key's secret), the derived
// enrollment status, and the last probe and last good probe as a capability summary. zod schemas here
// are the response contract (and feed the OpenAPI document).
import { z } from "zod";
import {
  type Capabilities,
  capabilitiesSchema,
  type Readiness,
  readinessSchema,
} from "../../shared/protocol/schemas.ts";
import { ENROLLMENT_STATUSES } from "../db/schema.ts";
import type { NodeRow } from "./client.ts";

export const capabilitySummarySchema = z.object({
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
});
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

/** Parses a stored capability document; null when absent or unreadable. */
/** A stored JSON document read back through its schema; null when absent or no longer valid. */
function stored<T>(schema: z.ZodType<T>, json: string | null): T | null {
  if (!json) return null;
  try {
    const parsed = schema.safeParse(JSON.parse(json));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

export function storedCapabilities(json: string | null): Capabilities | null {
  return stored(capabilitiesSchema, json);
}

function storedReadiness(json: string | null): Readiness | null {
  return stored(readinessSchema, json);
}

export const enrollmentStatusSchema = z.enum(ENROLLMENT_STATUSES);

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

const iso = z.iso.datetime();

export const nodeSchema = z.object({
  id: z.string(),
  name: z.string(),
  base_url: z.string(),
  enabled: z.boolean(),
  enrollment: z.object({
    status: enrollmentStatusSchema,
    expires_at: iso.nullable(),
    enrolled_at: iso.nullable(),
  }),
  key_id: z.string().nullable(),
  last_probe: z
    .object({
      at: iso,
      ok: z.boolean(),
      error: z.string().nullable(),
      capabilities: capabilitySummarySchema.nullable(),
      /** The follower's /health/ready document taken with this probe; null when it gave none. */
      readiness: readinessSchema.nullable(),
    })
    .nullable(),
  last_good_probe: z.object({ at: iso, capabilities: capabilitySummarySchema }).nullable(),
  created_at: iso,
  updated_at: iso,
});
export type NodeView = z.infer<typeof nodeSchema>;

const isoOrNull = (d: Date | null) => (d ? d.toISOString() : null);

export function nodeView(node: NodeRow, now: Date): NodeView {
  const last = storedCapabilities(node.lastProbeJson);
  const good = storedCapabilities(node.lastGoodProbeJson);
  return {
    id: node.id,
    name: node.name,
    base_url: node.baseUrl,
    enabled: node.enabled,
    enrollment: {
      status: enrollmentStatus(node, now),
      expires_at: node.enrollmentStatus === "completed" ? null : isoOrNull(node.enrollmentExpiresAt),
      enrolled_at: isoOrNull(node.enrolledAt),
    },
    key_id: node.keyId,
    last_probe: node.lastProbeAt
      ? {
          at: node.lastProbeAt.toISOString(),
          ok: node.lastProbeError === null,
          error: node.lastProbeError,
          capabilities: last ? summarize(last) : null,
          readiness: storedReadiness(node.lastReadinessJson),
        }
      : null,
    last_good_probe:
      node.lastGoodProbeAt && good
        ? { at: node.lastGoodProbeAt.toISOString(), capabilities: summarize(good) }
        : null,
    created_at: node.createdAt.toISOString(),
    updated_at: node.updatedAt.toISOString(),
  };
}
