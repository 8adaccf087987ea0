// Owns follower node records: create, list, load (or not_found), the pieces of Node Details (ingress
// targets, the policies that route to the node and their groups, recent events), edit (a binding
// change is pushed to the follower, best effort), delete (refused while a storage policy uses the
// node; the follower is told to stop first) and Test Connection.
import { and, eq, or } from "drizzle-orm";
import { randomId } from "../../shared/crypto.ts";
import { AppError } from "../../shared/errors.ts";
import type { Capabilities, Connectivity, Readiness } from "../../shared/protocol/schemas.ts";
import type { BindingSync } from "../api/nodes.ts";
import { isUniqueViolation } from "../db/constraints.ts";
import {
  followerNodes,
  ingressTargets,
  policyGroupRules,
  policyGroups,
  storagePolicies,
} from "../db/schema.ts";
import type { Services } from "../services.ts";
import { normalizeBaseUrl } from "./base-url.ts";
import { pushBinding } from "./binding.ts";
import { closeChannel } from "./channel.ts";
import type { NodeRow } from "./client.ts";
import { recentEvents } from "./events.ts";
import type { TargetRow } from "./ingress.ts";
import { probeNode } from "./probe.ts";

const nameTaken = () => new AppError("name_taken", "A follower node with this name already exists.");

export async function loadNode(services: Services, id: string): Promise<NodeRow> {
  const [node] = await services.db.select().from(followerNodes).where(eq(followerNodes.id, id));
  if (!node) throw new AppError("not_found", "No such follower node.");
  return node;
}

export async function listNodes(services: Services): Promise<NodeRow[]> {
  return services.db.select().from(followerNodes).orderBy(followerNodes.name);
}

export async function createNode(
  services: Services,
  input: { name: string; base_url: string; enabled: boolean; connectivity: Connectivity },
): Promise<NodeRow> {
  const now = services.now();
  const id = randomId();
  try {
    const [row] = await services.db
      .insert(followerNodes)
      .values({
        id,
        name: input.name,
        baseUrl: normalizeBaseUrl(input.base_url),
        enabled: input.enabled,
        connectivity: input.connectivity,
        createdAt: now,
        updatedAt: now,
      })
      .returning();
    return row!;
  } catch (error) {
    throw isUniqueViolation(error) ? nameTaken() : error;
  }
}

export interface NodeDetails {
  targets: TargetRow[];
  /** Policies on this node, each with the policy groups that have a rule routing to it. */
  policies: {
    id: string;
    name: string;
    groups: { id: string; name: string; enabled: boolean; is_default: boolean }[];
  }[];
  events: Awaited<ReturnType<typeof recentEvents>>;
}

export async function nodeDetails(services: Services, node: NodeRow): Promise<NodeDetails> {
  const [targets, policyRows, groupRows, events] = await Promise.all([
    services.db
      .select()
      .from(ingressTargets)
      .where(eq(ingressTargets.nodeId, node.id))
      .orderBy(ingressTargets.createdAt),
    services.db
      .select({ id: storagePolicies.id, name: storagePolicies.name })
      .from(storagePolicies)
      .where(eq(storagePolicies.nodeId, node.id))
      .orderBy(storagePolicies.name),
    services.db
      .selectDistinct({
        policyId: policyGroupRules.policyId,
        id: policyGroups.id,
        name: policyGroups.name,
        enabled: policyGroups.enabled,
        is_default: policyGroups.isDefault,
      })
      .from(policyGroupRules)
      .innerJoin(policyGroups, eq(policyGroups.id, policyGroupRules.groupId))
      .innerJoin(storagePolicies, eq(storagePolicies.id, policyGroupRules.policyId))
      .where(eq(storagePolicies.nodeId, node.id))
      .orderBy(policyGroups.name),
    recentEvents(services, node.id),
  ]);
  const policies = policyRows.map((policy) => ({
    ...policy,
    groups: groupRows.filter((g) => g.policyId === policy.id).map(({ policyId: _, ...group }) => group),
  }));
  return { targets, policies, events };
}

/** Applies the changes; a name, enabled or base_url change is pushed to the follower (best effort). */
export async function editNode(
  services: Services,
  node: NodeRow,
  input: { name?: string; base_url?: string; enabled?: boolean; connectivity?: Connectivity },
): Promise<{ node: NodeRow; sync: BindingSync }> {
  const now = services.now();
  const changes = {
    ...(input.name !== undefined ? { name: input.name } : {}),
    ...(input.base_url !== undefined ? { baseUrl: normalizeBaseUrl(input.base_url) } : {}),
    ...(input.enabled !== undefined ? { enabled: input.enabled } : {}),
    ...(input.connectivity !== undefined ? { connectivity: input.connectivity } : {}),
  };
  if (input.connectivity === "outbound" && node.connectivity !== "outbound") {
    await refusePresignedPolicies(services, node);
  }
  let row: NodeRow;
  try {
    [row] = (await services.db
      .update(followerNodes)
      .set({ ...changes, updatedAt: now })
      .where(eq(followerNodes.id, node.id))
      .returning()) as [NodeRow];
  } catch (error) {
    throw isUniqueViolation(error) ? nameTaken() : error;
  }
  // A node made direct stops using its channel: the agent learns it from the close code.
  if (node.connectivity === "outbound" && row.connectivity === "direct") {
    await closeChannel(services, row.id, "direct");
  }
  const bindingChanged =
    row.name !== node.name || row.enabled !== node.enabled || row.baseUrl !== node.baseUrl;
  const sync = bindingChanged
    ? await pushBinding(services, row)
    : { state: "skipped" as const, reason: null };
  return { node: row, sync };
}

/** Browsers cannot reach an outbound-only node: its policies must relay before it may turn outbound. */
async function refusePresignedPolicies(services: Services, node: NodeRow): Promise<void> {
  const presigned = await services.db
    .select({ id: storagePolicies.id, name: storagePolicies.name })
    .from(storagePolicies)
    .where(
      and(
        eq(storagePolicies.nodeId, node.id),
        or(eq(storagePolicies.uploadMode, "presigned"), eq(storagePolicies.downloadMode, "presigned")),
      ),
    );
  if (presigned.length === 0) return;
  throw new AppError(
    "node_has_presigned_policies",
    "Presigned policies send browsers to this node's base_url, which an outbound-only node cannot offer: set their modes to relay_stream first.",
    { details: { policies: presigned } },
  );
}

export async function deleteNode(services: Services, node: NodeRow): Promise<void> {
  const users = await services.db
    .select({ id: storagePolicies.id, name: storagePolicies.name })
    .from(storagePolicies)
    .where(eq(storagePolicies.nodeId, node.id));
  if (users.length > 0) {
    throw new AppError("node_in_use", "Storage policies still use this follower node.", {
      details: { policies: users },
    });
  }
  // Best effort: tell the follower to stop serving this primary before forgetting its key.
  if (node.enabled) await pushBinding(services, { ...node, enabled: false, updatedAt: services.now() });
  await services.db.delete(followerNodes).where(eq(followerNodes.id, node.id));
  await closeChannel(services, node.id, "revoked");
}

/** Test Connection: a signed capability probe, stored with its time and error; the refusal is thrown. */
export async function testNode(
  services: Services,
  node: NodeRow,
): Promise<{ capabilities: Capabilities; readiness: Readiness | null; node: NodeRow }> {
  if (!node.enabled) {
    throw new AppError("node_disabled", "The follower node is disabled; enable it before testing.");
  }
  const outcome = await probeNode(services, node);
  if (!outcome.ok || !outcome.capabilities) throw outcome.error!;
  return {
    capabilities: outcome.capabilities,
    readiness: outcome.readiness,
    node: await loadNode(services, node.id),
  };
}
