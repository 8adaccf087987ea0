// Admin -> Follower Nodes: create, list, details, edit (enable/disable pushes the binding to the
// follower, best effort), delete (refused while a policy uses the node), enrollment token, and
// Test Connection. Every route is admin-only; the node's secret never leaves the server.
import { eq } from "drizzle-orm";
import { randomId } from "../../../shared/crypto.ts";
import { AppError } from "../../../shared/errors.ts";
import { toIngressTargetOut } from "../../api/ingress-targets.ts";
import {
  createNodeBody,
  editNodeBody,
  enrollmentTokenBody,
  enrollmentTokenSchema,
  nodeDetailsSchema,
  nodeEditedSchema,
  nodeListSchema,
  nodeSchema,
  summarize,
  testResultSchema,
  toNodeOut,
} from "../../api/nodes.ts";
import { idParams } from "../../api/wire.ts";
import { isUniqueViolation } from "../../db/constraints.ts";
import {
  followerNodes,
  ingressTargets,
  policyGroupRules,
  policyGroups,
  storagePolicies,
} from "../../db/schema.ts";
import { normalizeBaseUrl } from "../../followers/base-url.ts";
import { pushBinding } from "../../followers/binding.ts";
import { issueEnrollmentToken } from "../../followers/enrollment.ts";
import { recentEvents } from "../../followers/events.ts";
import { probeNode } from "../../followers/probe.ts";
import { defineRoute } from "../../http/route.ts";
import { loadNode, primaryOrigin } from "./nodes-shared.ts";

const TAG = "follower-nodes";
const nameTaken = () => new AppError("name_taken", "A follower node with this name already exists.");

export const nodeRoutes = [
  defineRoute({
    method: "POST",
    path: "/api/v1/admin/nodes",
    access: "admin",
    summary: "Create a follower node record (base_url may stay empty until the node is reachable)",
    tag: TAG,
    body: createNodeBody,
    response: nodeSchema,
    status: 201,
    handler: async ({ services, body }) => {
      const now = services.now();
      const id = randomId();
      try {
        const [row] = await services.db
          .insert(followerNodes)
          .values({
            id,
            name: body.name,
            baseUrl: normalizeBaseUrl(body.base_url),
            enabled: body.enabled,
            createdAt: now,
            updatedAt: now,
          })
          .returning();
        return toNodeOut(row!, now);
      } catch (error) {
        throw isUniqueViolation(error) ? nameTaken() : error;
      }
    },
  }),

  defineRoute({
    method: "GET",
    path: "/api/v1/admin/nodes",
    access: "admin",
    summary: "List follower nodes",
    tag: TAG,
    response: nodeListSchema,
    handler: async ({ services }) => {
      const rows = await services.db.select().from(followerNodes).orderBy(followerNodes.name);
      return { nodes: rows.map((row) => toNodeOut(row, services.now())) };
    },
  }),

  defineRoute({
    method: "GET",
    path: "/api/v1/admin/nodes/:id",
    access: "admin",
    summary: "Follower node details: record, last probes, ingress targets, policies, recent events",
    tag: TAG,
    params: idParams,
    response: nodeDetailsSchema,
    handler: async ({ services, params }) => {
      const node = await loadNode(services, params.id);
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
      return {
        ...toNodeOut(node, services.now()),
        ingress_targets: targets.map(toIngressTargetOut),
        policies,
        recent_events: events.map((e) => ({
          at: e.at.toISOString(),
          level: e.level,
          kind: e.kind,
          message: e.message,
        })),
      };
    },
  }),

  defineRoute({
    method: "PATCH",
    path: "/api/v1/admin/nodes/:id",
    access: "admin",
    summary: "Edit a follower node; a name or enabled change is pushed to the follower (best effort)",
    tag: TAG,
    params: idParams,
    body: editNodeBody,
    response: nodeEditedSchema,
    handler: async ({ services, params, body }) => {
      const node = await loadNode(services, params.id);
      const now = services.now();
      const changes = {
        ...(body.name !== undefined ? { name: body.name } : {}),
        ...(body.base_url !== undefined ? { baseUrl: normalizeBaseUrl(body.base_url) } : {}),
        ...(body.enabled !== undefined ? { enabled: body.enabled } : {}),
      };
      let row: typeof node;
      try {
        [row] = (await services.db
          .update(followerNodes)
          .set({ ...changes, updatedAt: now })
          .where(eq(followerNodes.id, node.id))
          .returning()) as [typeof node];
      } catch (error) {
        throw isUniqueViolation(error) ? nameTaken() : error;
      }
      const bindingChanged =
        row.name !== node.name || row.enabled !== node.enabled || row.baseUrl !== node.baseUrl;
      const sync = bindingChanged
        ? await pushBinding(services, row)
        : { state: "skipped" as const, reason: null };
      return { ...toNodeOut(row, now), binding_sync: sync };
    },
  }),

  defineRoute({
    method: "DELETE",
    path: "/api/v1/admin/nodes/:id",
    access: "admin",
    summary: "Delete a follower node record (refused while a storage policy uses it)",
    tag: TAG,
    params: idParams,
    handler: async ({ services, params }) => {
      const node = await loadNode(services, params.id);
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
    },
  }),

  defineRoute({
    method: "POST",
    path: "/api/v1/admin/nodes/:id/enrollment-token",
    access: "admin",
    summary: "Issue a one-time enrollment token (shown once; replaces any earlier token)",
    tag: TAG,
    params: idParams,
    body: enrollmentTokenBody,
    response: enrollmentTokenSchema,
    status: 201,
    handler: async ({ services, params, body, request, headers }) => {
      const node = await loadNode(services, params.id);
      const issued = await issueEnrollmentToken(
        services,
        node,
        primaryOrigin(services, request),
        body.ttl_minutes,
      );
      headers.set("cache-control", "no-store");
      return {
        node_id: node.id,
        token: issued.token,
        expires_at: issued.expiresAt.toISOString(),
        command: issued.command,
        command_from_checkout: issued.commandFromCheckout,
        note: issued.note,
      };
    },
  }),

  defineRoute({
    method: "POST",
    path: "/api/v1/admin/nodes/:id/test",
    access: "admin",
    summary: "Test Connection: signed capability probe; stores result, time and error",
    tag: TAG,
    params: idParams,
    response: testResultSchema,
    handler: async ({ services, params }) => {
      const node = await loadNode(services, params.id);
      if (!node.enabled) {
        throw new AppError("node_disabled", "The follower node is disabled; enable it before testing.");
      }
      const outcome = await probeNode(services, node);
      if (!outcome.ok || !outcome.capabilities) throw outcome.error!;
      const fresh = await loadNode(services, node.id);
      return {
        ok: true as const,
        protocol_version: outcome.capabilities.protocol,
        server_version: outcome.capabilities.server_version,
        capabilities: summarize(outcome.capabilities),
        readiness: outcome.readiness,
        node: toNodeOut(fresh, services.now()),
      };
    },
  }),
];
