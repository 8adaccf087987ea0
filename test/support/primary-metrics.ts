// Seeds the state the primary's /api/v1/admin/metrics reports on, straight into the database: follower
// nodes with stored probe documents (a good one, a failed probe after a good one, one never probed and
// disabled, with a name only escaping keeps on one line) and a storage policy with files, trash,
// uploads in every state and owed cleanups, beside an empty policy. Returns what a scrape must show.
import { randomId } from "../../shared/crypto.ts";
import { type Capabilities, capabilitiesSchema } from "../../shared/protocol/schemas.ts";
import {
  files,
  followerNodes,
  pendingObjectDeletions,
  storagePolicies,
  type UploadState,
  uploadSessions,
} from "../../worker/db/schema.ts";
import { type Harness, seedUser, unique } from "./primary.ts";

function capabilities(freeBytes: number, totalBytes: number): Capabilities {
  return capabilitiesSchema.parse({
    protocol: "v2",
    protocol_min: "v2",
    protocol_max: "v2",
    server_version: "agent-9.9.9",
    node_id: "seeded",
    binding: { name: "seeded", enabled: true },
    features: {
      ranges: true,
      conditional_get: true,
      sha256: true,
      multipart: true,
      presigned: true,
      browser_presigned_cors: true,
    },
    browser_cors: {
      allowed_origins: [],
      allowed_headers: [],
      exposed_headers_get: [],
      exposed_headers_put: [],
    },
    limits: {
      max_object_bytes: null,
      max_part_bytes: 1e9,
      max_parts: 10000,
      max_json_body_bytes: 1e6,
      presign_max_ttl_seconds: 3600,
      clock_skew_seconds: 300,
    },
    ingress_targets: [
      {
        key: "default-local",
        name: "default-local",
        driver: "local",
        is_default: true,
        revision: 1,
        applied_revision: 1,
        state: "applied",
        reason: null,
        base_path: "default",
        s3: null,
        free_bytes: freeBytes,
        total_bytes: totalBytes,
        updated_at: new Date().toISOString(),
      },
    ],
    default_target: "default-local",
  });
}

export interface SeededMetrics {
  healthy: { id: string; name: string; probedSecondsAgo: number; free: number; total: number };
  failing: { id: string; goodProbeSecondsAgo: number; free: number; total: number };
  unprobed: { id: string };
  busy: { id: string; files: number; bytes: number; uploadsInFlight: number; cleanupsOwed: number };
  empty: { id: string };
}

export async function seedMetricsState(h: Harness): Promise<SeededMetrics> {
  const now = Date.now();
  const ago = (seconds: number) => new Date(now - seconds * 1000);
  const healthy = {
    id: randomId(),
    name: `rack "b"\\shelf\n2 ${unique("node")}`,
    probedSecondsAgo: 120,
    free: 7_000_000,
    total: 10_000_000,
  };
  const healthyCaps = JSON.stringify(capabilities(healthy.free, healthy.total));
  const failing = { id: randomId(), goodProbeSecondsAgo: 3600, free: 1_000, total: 5_000 };
  const failingCaps = JSON.stringify(capabilities(failing.free, failing.total));
  const unprobed = { id: randomId() };
  await h.db.insert(followerNodes).values([
    {
      id: healthy.id,
      name: healthy.name,
      enrollmentStatus: "completed",
      lastProbeAt: ago(healthy.probedSecondsAgo),
      lastProbeJson: healthyCaps,
      lastGoodProbeAt: ago(healthy.probedSecondsAgo),
      lastGoodProbeJson: healthyCaps,
    },
    {
      id: failing.id,
      name: unique("node"),
      enrollmentStatus: "completed",
      lastProbeAt: ago(60),
      lastProbeError: "follower_unreachable: connection refused",
      lastGoodProbeAt: ago(failing.goodProbeSecondsAgo),
      lastGoodProbeJson: failingCaps,
    },
    { id: unprobed.id, name: unique("node"), enabled: false },
  ]);

  const busy = { id: randomId(), files: 3, bytes: 100 + 250 + 4_000, uploadsInFlight: 2, cleanupsOwed: 3 };
  const empty = { id: randomId() };
  await h.db.insert(storagePolicies).values([
    { id: busy.id, name: unique("busy"), driver: "primary" },
    { id: empty.id, name: unique("empty"), driver: "primary" },
  ]);
  const { user } = await seedUser(h);
  const file = (size: number, trashed: boolean) => ({
    id: randomId(),
    spaceKind: "user" as const,
    spaceId: user.id,
    name: unique("file"),
    size,
    sha256: "0".repeat(64),
    policyId: busy.id,
    storageKey: `files/${randomId()}`,
    trashedAt: trashed ? new Date(now) : null,
  });
  await h.db.insert(files).values([file(100, false), file(250, false), file(4_000, true)]);
  const upload = (state: UploadState, cleanupPending = false) => ({
    id: randomId(),
    userId: user.id,
    spaceKind: "user" as const,
    spaceId: user.id,
    name: unique("upload"),
    size: 10,
    contentType: "application/octet-stream",
    policyId: busy.id,
    mode: "relay_stream" as const,
    chunkSize: 10,
    partCount: 1,
    storageKey: `files/${randomId()}`,
    state,
    cleanupPending,
    expiresAt: new Date(now + 60_000),
  });
  await h.db
    .insert(uploadSessions)
    .values([
      upload("open"),
      upload("completing"),
      upload("completed"),
      upload("aborted", true),
      upload("failed", true),
    ]);
  await h.db.insert(pendingObjectDeletions).values({
    id: randomId(),
    policyId: busy.id,
    storageKey: `files/${randomId()}`,
    nextAttemptAt: new Date(now),
  });
  return { healthy, failing, unprobed, busy, empty };
}
