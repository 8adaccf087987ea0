// Owns what a move needs to know about its target policy: whether it can take files at all (a remote
// policy's node enabled, enrolled, with an applied default ingress target, which every copy is pinned
// to), the largest file it takes, its free space from the node's last probe, and whether the node
// pulls objects itself (then a follower or S3 source hands it a presigned URL and the primary carries
// nothing).
import { and, eq } from "drizzle-orm";
import type { MoveBlockReason } from "../api/moves.ts";
import { storedCapabilities } from "../db/probes.ts";
import { followerNodes, ingressTargets, storagePolicies } from "../db/schema.ts";
import type { NodeRow } from "../followers/client.ts";
import type { Services } from "../services.ts";
import type { PolicyRow } from "../storage/factory.ts";

/** S3 and R2 take at most this in one PUT; a relayed copy to them is one streamed PUT. */
export const RELAY_PUT_MAX_BYTES = 5 * 1024 ** 3;

export type TargetProblem = Extract<
  MoveBlockReason,
  "target_node_missing" | "target_node_disabled" | "target_no_default_ingress"
>;

export interface TargetFacts {
  policy: PolicyRow;
  node: NodeRow | null;
  /** Why nothing can be written to the target now; empty when it can take files. */
  problems: TargetProblem[];
  /** The ingress target every copy to a remote target is pinned to (its applied default). */
  location: string | null;
  /** Largest file the target takes (policy limit, node object limit, single PUT); null = no limit. */
  maxFileBytes: number | null;
  /** Free bytes of the pinned ingress target at the node's last good probe; null when unknown. */
  freeBytes: number | null;
  probedAt: Date | null;
  /** The node fetches objects itself from a URL (protocol v2 pulls). */
  pulls: boolean;
}

export async function targetFacts(services: Services, policy: PolicyRow): Promise<TargetFacts> {
  const limits: number[] = [];
  if (policy.maxFileSize > 0) limits.push(policy.maxFileSize);
  if (policy.driver !== "remote") {
    limits.push(RELAY_PUT_MAX_BYTES);
    return { ...base(policy, limits), node: null, location: null, problems: [] };
  }
  const [node] = policy.nodeId
    ? await services.db.select().from(followerNodes).where(eq(followerNodes.id, policy.nodeId))
    : [];
  if (!node)
    return { ...base(policy, limits), node: null, location: null, problems: ["target_node_missing"] };
  const [target] = await services.db
    .select({ key: ingressTargets.targetKey, state: ingressTargets.state })
    .from(ingressTargets)
    .where(and(eq(ingressTargets.nodeId, node.id), eq(ingressTargets.isDefault, true)));
  const problems: TargetProblem[] = [];
  if (!node.enabled) problems.push("target_node_disabled");
  if (target?.state !== "applied") problems.push("target_no_default_ingress");
  const caps = storedCapabilities(node.lastGoodProbeJson);
  if (caps?.limits.max_object_bytes) limits.push(caps.limits.max_object_bytes);
  const probed = caps?.ingress_targets.find((t) => t.key === target?.key);
  return {
    ...base(policy, limits),
    node,
    problems,
    location: target?.key ?? null,
    freeBytes: probed?.free_bytes ?? null,
    probedAt: caps ? node.lastGoodProbeAt : null,
    pulls: caps?.features.pull === true,
  };
}

function base(policy: PolicyRow, limits: number[]) {
  return {
    policy,
    maxFileBytes: limits.length > 0 ? Math.min(...limits) : null,
    freeBytes: null,
    probedAt: null,
    pulls: false,
  };
}

/** Whether a source policy can hand a target a presigned GET URL of its objects. */
/**
 * Whether a target can fetch this source's objects from a presigned URL: an S3 bucket, or a follower
 * the primary reaches directly at its base_url. An outbound-only follower's URLs name no address
 * anyone else can reach (it sits behind NAT), so its files are relayed through its channel instead.
 */
export async function sourcePullable(services: Services, policy: PolicyRow): Promise<boolean> {
  if (policy.driver === "s3") return true;
  if (policy.driver !== "remote" || !policy.nodeId) return false;
  const [node] = await services.db
    .select({ connectivity: followerNodes.connectivity, baseUrl: followerNodes.baseUrl })
    .from(followerNodes)
    .where(eq(followerNodes.id, policy.nodeId));
  return node?.connectivity === "direct" && node.baseUrl !== "";
}

export async function loadTargetPolicy(services: Services, id: string): Promise<PolicyRow | null> {
  const [row] = await services.db.select().from(storagePolicies).where(eq(storagePolicies.id, id));
  return row ?? null;
}
