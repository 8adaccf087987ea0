// Owns every wire message of internal protocol v2 (primary <-> follower agent): zod schemas and the
// types inferred from them. Both sides parse what they receive with these; no wire type is declared
// anywhere else. Field names are snake_case on the wire.
import { z } from "zod";
import { keyProblem, TARGET_KEY } from "./keys.ts";

export const PROTOCOL_VERSION = "v2";
export const protocolVersionSchema = z.literal(PROTOCOL_VERSION);

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, "must be 64 lowercase hex digits");
const objectKey = z.string().superRefine((key, ctx) => {
  const problem = keyProblem(key);
  if (problem) ctx.addIssue({ code: "custom", message: `object key ${problem}` });
});
const targetKey = z.string().regex(TARGET_KEY, "must match [a-z0-9][a-z0-9_-]{0,62}");
const httpUrl = z.url({ protocol: /^https?$/ });
const byteCount = z.number().int().nonnegative();

// --- enrollment (agent -> primary, unauthenticated; the one-time token is the credential) ---

export const redeemRequestSchema = z.object({
  token: z.string().min(16).max(512),
  /** The URL the primary should use to reach this agent, when the agent knows it. */
  base_url: httpUrl.nullable().optional(),
  agent_version: z.string().min(1).max(64),
  protocol: protocolVersionSchema,
});
export type RedeemRequest = z.infer<typeof redeemRequestSchema>;

export const redeemResponseSchema = z.object({
  node_id: z.string().min(1).max(128),
  node_name: z.string().min(1).max(200),
  /** Origin of the primary (scheme://host[:port]); the only CORS origin the agent allows. */
  primary_origin: httpUrl,
  key_id: z.string().min(8).max(128),
  secret: z.string().min(32).max(256),
  enabled: z.boolean().default(true),
  protocol: protocolVersionSchema,
});
export type RedeemResponse = z.infer<typeof redeemResponseSchema>;

// --- binding (primary -> agent): the node record's name and enabled flag ---

export const bindingStateSchema = z.object({
  name: z.string().min(1).max(200),
  enabled: z.boolean(),
  /** Monotonic; a push older than the last applied one is refused with ingress_revision_stale. */
  revision: z.number().int().nonnegative().optional(),
});
export type BindingState = z.infer<typeof bindingStateSchema>;

// --- ingress targets (primary is the source of truth; the agent applies and reports) ---

const targetCommon = {
  name: z.string().min(1).max(200),
  /** Monotonic per target; pushing an older revision is refused, the same revision re-applies. */
  revision: z.number().int().positive(),
  is_default: z.boolean(),
};

export const localTargetSpecSchema = z.object({
  ...targetCommon,
  driver: z.literal("local"),
  /** Relative to the agent's managed_ingress_local_root; "." is the root itself. */
  base_path: z.string().min(1).max(1024),
});

export const s3TargetSpecSchema = z.object({
  ...targetCommon,
  driver: z.literal("s3"),
  endpoint: httpUrl,
  region: z.string().min(1).max(64).default("us-east-1"),
  bucket: z.string().min(1).max(255),
  /** Key prefix inside the bucket, without leading or trailing '/'; empty for none. */
  prefix: z.string().max(512).default(""),
  path_style: z.boolean().default(true),
  access_key_id: z.string().min(1).max(256),
  secret_access_key: z.string().min(1).max(512),
});

/** What the primary pushes (PUT /internal/v2/ingress-targets/{key}). Credentials travel only here. */
export const ingressTargetSpecSchema = z.discriminatedUnion("driver", [
  localTargetSpecSchema,
  s3TargetSpecSchema,
]);
export type IngressTargetSpec = z.infer<typeof ingressTargetSpecSchema>;
export type LocalTargetSpec = z.infer<typeof localTargetSpecSchema>;
export type S3TargetSpec = z.infer<typeof s3TargetSpecSchema>;

export const ingressStateSchema = z.enum(["pending", "applied", "failed"]);
export type IngressState = z.infer<typeof ingressStateSchema>;

/** What the agent reports for a target: the spec without credentials, plus its apply state. */
export const ingressTargetInfoSchema = z.object({
  key: targetKey,
  name: z.string(),
  driver: z.enum(["local", "s3"]),
  is_default: z.boolean(),
  revision: z.number().int().positive(),
  applied_revision: z.number().int().positive().nullable(),
  state: ingressStateSchema,
  /** Why the last apply failed (safe text, no secrets); null unless state is "failed". */
  reason: z.string().nullable(),
  base_path: z.string().nullable(),
  s3: z
    .object({
      endpoint: z.string(),
      region: z.string(),
      bucket: z.string(),
      prefix: z.string(),
      path_style: z.boolean(),
    })
    .nullable(),
  free_bytes: byteCount.nullable(),
  total_bytes: byteCount.nullable(),
  updated_at: z.string(),
});
export type IngressTargetInfo = z.infer<typeof ingressTargetInfoSchema>;

export const ingressTargetListSchema = z.object({ targets: z.array(ingressTargetInfoSchema) });
export type IngressTargetList = z.infer<typeof ingressTargetListSchema>;

// --- capabilities ("Test Connection") ---

export const BROWSER_CORS = {
  allowed_headers: ["content-type", "range"],
  exposed_headers_get: [
    "Accept-Ranges",
    "Cache-Control",
    "Content-Disposition",
    "Content-Length",
    "Content-Range",
    "Content-Type",
    "ETag",
  ],
  exposed_headers_put: ["ETag"],
} as const;

export const capabilitiesSchema = z.object({
  protocol: protocolVersionSchema,
  protocol_min: z.string(),
  protocol_max: z.string(),
  server_version: z.string(),
  node_id: z.string(),
  binding: z.object({ name: z.string(), enabled: z.boolean() }),
  features: z.object({
    ranges: z.boolean(),
    conditional_get: z.boolean(),
    sha256: z.boolean(),
    multipart: z.boolean(),
    presigned: z.boolean(),
    browser_presigned_cors: z.boolean(),
    /** POST /internal/v2/copy: an object copied on the follower (absent from agents before it). */
    copy: z.boolean().optional(),
    /** Object pulls (POST /pulls): absent on agents that predate them, which the primary never asks. */
    pull: z.boolean().optional(),
  }),
  browser_cors: z.object({
    allowed_origins: z.array(z.string()),
    allowed_headers: z.array(z.string()),
    exposed_headers_get: z.array(z.string()),
    exposed_headers_put: z.array(z.string()),
  }),
  limits: z.object({
    max_object_bytes: byteCount.nullable(),
    max_part_bytes: byteCount,
    max_parts: z.number().int().positive(),
    max_json_body_bytes: byteCount,
    presign_max_ttl_seconds: z.number().int().positive(),
    clock_skew_seconds: z.number().int().positive(),
  }),
  ingress_targets: z.array(ingressTargetInfoSchema),
  default_target: targetKey.nullable(),
});
export type Capabilities = z.infer<typeof capabilitiesSchema>;

// --- objects ---

/** Answer to an object PUT and a multipart complete: what landed, where, and its digest. */
export const objectInfoSchema = z.object({
  key: objectKey,
  target: targetKey,
  size: byteCount,
  sha256: sha256Hex,
  /** Strong ETag: the quoted SHA-256 hex. */
  etag: z.string(),
  content_type: z.string().nullable(),
});
export type ObjectInfo = z.infer<typeof objectInfoSchema>;

/**
 * Copy an object on the follower, bytes never leaving it: from `source` (its key and target) to `key`
 * in `target` (default: the current default target). The copy is checked against `size` and
 * `sha256` and committed atomically like a PUT; the answer is the new object's ObjectInfo.
 */
export const objectCopySchema = z.object({
  source: z.object({ key: objectKey, target: targetKey.optional() }),
  key: objectKey,
  target: targetKey.optional(),
  size: byteCount,
  sha256: sha256Hex,
});
export type ObjectCopy = z.infer<typeof objectCopySchema>;

// --- multipart (composed on the agent; S3 multipart on s3 targets) ---

export const multipartCreateSchema = z.object({
  key: objectKey,
  content_type: z.string().max(255).nullable().optional(),
  /** Optional ingress target; defaults to the current default target (fixed for the session). */
  target: targetKey.optional(),
  /**
   * The size of every part but the last, when the sender fixes it (the primary does: the policy's
   * chunk size). A local target then writes each part in place at its offset, and completion commits
   * the object without copying it; without it, parts are composed by one streamed copy.
   */
  part_size: z
    .number()
    .int()
    .positive()
    .max(512 * 1024 ** 3)
    .optional(),
});
export type MultipartCreate = z.infer<typeof multipartCreateSchema>;

export const multipartSessionSchema = z.object({
  upload_id: z.string(),
  key: objectKey,
  target: targetKey,
  created_at: z.string(),
});
export type MultipartSession = z.infer<typeof multipartSessionSchema>;

export const partInfoSchema = z.object({
  part_number: z.number().int().min(1).max(10_000),
  size: byteCount,
  sha256: sha256Hex,
  etag: z.string(),
});
export type PartInfo = z.infer<typeof partInfoSchema>;

export const partListSchema = z.object({ upload_id: z.string(), parts: z.array(partInfoSchema) });
export type PartList = z.infer<typeof partListSchema>;

export const multipartCompleteSchema = z.object({
  /** The parts, in order, that make the object; each must have been received with this digest. */
  parts: z
    .array(z.object({ part_number: z.number().int().min(1).max(10_000), sha256: sha256Hex.optional() }))
    .min(1),
  /** Expected total size and whole-object SHA-256; the agent refuses to commit on mismatch. */
  size: byteCount.optional(),
  sha256: sha256Hex.optional(),
});
export type MultipartComplete = z.infer<typeof multipartCompleteSchema>;

// --- pulls (the agent fetches an object from a URL the primary hands it; moves between storages) ---

/** Pull ids are chosen by the primary, so a start whose answer was lost can be repeated. */
export const PULL_ID = /^[A-Za-z0-9_-]{16,64}$/;
const pullId = z.string().regex(PULL_ID, "must be 16-64 of A-Z a-z 0-9 _ -");

export const pullRequestSchema = z.object({
  pull_id: pullId,
  key: objectKey,
  /** Ingress target to write to; defaults to the current default target. */
  target: targetKey.optional(),
  /**
   * Where to GET the bytes: a short-lived presigned URL of another follower or of an S3 store. The
   * agent follows no redirect and keeps nothing it fetched unless size and SHA-256 match.
   */
  source_url: httpUrl.max(8192),
  size: byteCount,
  /** Required: the object is committed only when the fetched bytes have this digest. */
  sha256: sha256Hex,
  content_type: z.string().max(255).nullable().optional(),
});
export type PullRequest = z.infer<typeof pullRequestSchema>;

export const pullStateSchema = z.enum(["running", "done", "failed"]);

export const pullStatusSchema = z.object({
  pull_id: pullId,
  key: objectKey,
  target: targetKey,
  state: pullStateSchema,
  size: byteCount,
  /** Bytes received from the source so far. */
  received_bytes: byteCount,
  /** What was committed, once state is "done". */
  object: objectInfoSchema.nullable(),
  /** Why the pull failed (nothing was kept), once state is "failed". */
  error: z
    .object({ code: z.string(), message: z.string(), source_status: z.number().int().nullable() })
    .nullable(),
  started_at: z.string(),
  finished_at: z.string().nullable(),
});
export type PullStatus = z.infer<typeof pullStatusSchema>;

// --- storage refusals (agent -> primary, in the error envelope's details) ---

/**
 * Details of `storage_rejected` / `storage_unavailable` when an S3 ingress target refused: the S3
 * error code (`InvalidAccessKeyId`, `NoSuchBucket`, `EntityTooSmall`, ...), so the primary can tell a
 * refusal of the store's configuration, which an admin fixes, from one of the upload itself.
 */
export const storageRefusalSchema = z.object({
  s3_code: z.string().regex(/^[A-Za-z0-9.]{1,64}$/),
});
export type StorageRefusal = z.infer<typeof storageRefusalSchema>;

// --- health ---

/** How a node is reached: the primary dials it (direct), or the agent's own channel carries every call. */
export const connectivitySchema = z.enum(["direct", "outbound"]);
export type Connectivity = z.infer<typeof connectivitySchema>;

/** The primary's answer to an agent asking how it is reached (paths.agentConnectivity, signed by the agent). */
export const agentConnectivitySchema = z.object({
  connectivity: connectivitySchema,
  /** Where an outbound agent opens its channel (ws: or wss:); null for a direct node. */
  channel_url: z.string().nullable(),
  /** How long a direct agent waits before asking again. */
  poll_seconds: z.number().int().min(1),
});
export type AgentConnectivity = z.infer<typeof agentConnectivitySchema>;

/** One side's view of a channel: whether it is up, since when, how often it was opened, what it carried. */
export const channelStateSchema = z.object({
  connected: z.boolean(),
  connected_since: z.string().nullable(),
  /** Connections accepted after the first one. */
  reconnects: z.number().int().min(0),
  last_error: z.string().nullable(),
  last_error_at: z.string().nullable(),
  bytes_in: z.number().min(0),
  bytes_out: z.number().min(0),
});
export type ChannelState = z.infer<typeof channelStateSchema>;

/** The primary's view of a node's channel: also when the agent was last heard and which version opened it. */
export const nodeChannelStateSchema = channelStateSchema
  .extend({
    /** The agent's last message or keepalive (while connected), or when the channel ended. */
    last_seen: z.string().nullable(),
    /** The version the agent named when it opened the channel; null for an agent that named none. */
    agent_version: z.string().nullable(),
  })
  .meta({ id: "NodeChannelState" });
export type NodeChannelState = z.infer<typeof nodeChannelStateSchema>;

/** The agent's view of its channel, with what the primary last said the node is (null before it answered). */
export const agentChannelStateSchema = channelStateSchema.extend({
  connectivity: connectivitySchema.nullable(),
});
export type AgentChannelState = z.infer<typeof agentChannelStateSchema>;

const readinessCheckSchema = z.object({ name: z.string(), ok: z.boolean(), reason: z.string().nullable() });

/**
 * The follower's /health/ready document. `status` and `checks` say whether the follower itself is ready
 * (up, enrolled, binding enabled, state and ingress root usable); each other part of the follower that
 * an admin sets up afterwards reports beside them as its own field, so readiness does not wait for it.
 */
export const readinessSchema = z.object({
  status: z.enum(["ready", "not_ready"]),
  checks: z.array(readinessCheckSchema),
  /**
   * The default ingress target (created on the primary, tutorial §2): objects need it, readiness does
   * not. `ok` when it is applied and writable. Absent from agents whose readiness still required it.
   */
  default_target: z.object({ ok: z.boolean(), checks: z.array(readinessCheckSchema) }).optional(),
  /** Present when the agent asks the primary for its connectivity (every agent started by the CLI). */
  channel: agentChannelStateSchema.optional(),
});
export type Readiness = z.infer<typeof readinessSchema>;
