// Admin -> Follower Nodes: create, list, details, edit (enable/disable pushes the binding to the
// follower, best effort), delete (refused while a policy uses the node), enrollment token, and
// Test Connection. Every route is admin-only; the node's secret never leaves the server. The records
// and their rules are the domain's (worker/followers/nodes.ts).
import { toIngressTargetOut } from "../../api/ingress-targets.ts";
import {
  createNodeBody,
  editNodeBody,
  enrollmentTokenBody,
  enrollmentTokenSchema,
  nodeDetailsSchema,
  nodeEditedSchema,
  nodeEventListSchema,
  nodeEventsQuery,
  nodeListSchema,
  nodeSchema,
  summarize,
  testResultSchema,
  toNodeEventOut,
  toNodeOut,
} from "../../api/nodes.ts";
import { idParams, iso } from "../../api/wire.ts";
import { nodeChannel } from "../../followers/channel.ts";
import { issueEnrollmentToken } from "../../followers/enrollment.ts";
import { findEvents } from "../../followers/events.ts";
import {
  createNode,
  deleteNode,
  editNode,
  listNodes,
  loadNode,
  nodeDetails,
  testNode,
} from "../../followers/nodes.ts";
import { primaryOrigin } from "../../http/origin.ts";
import { defineRoute } from "../../http/route.ts";

const TAG = "follower-nodes";

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
    handler: async ({ services, body }) => toNodeOut(await createNode(services, body), services.now()),
  }),

  defineRoute({
    method: "GET",
    path: "/api/v1/admin/nodes",
    access: "admin",
    summary: "List follower nodes",
    tag: TAG,
    response: nodeListSchema,
    handler: async ({ services }) => {
      const rows = await listNodes(services);
      const channels = await Promise.all(rows.map((row) => nodeChannel(services, row)));
      return { nodes: rows.map((row, n) => ({ ...toNodeOut(row, services.now()), channel: channels[n]! })) };
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
      const [{ targets, policies, events }, channel] = await Promise.all([
        nodeDetails(services, node),
        nodeChannel(services, node),
      ]);
      return {
        ...toNodeOut(node, services.now()),
        channel,
        ingress_targets: targets.map(toIngressTargetOut),
        policies,
        recent_events: events.map(toNodeEventOut),
      };
    },
  }),

  defineRoute({
    method: "GET",
    path: "/api/v1/admin/nodes/:id/events",
    access: "admin",
    summary:
      "The node's events, newest first: filter by level (e.g. warn,error for problems only) and kind, page with before",
    tag: TAG,
    params: idParams,
    query: nodeEventsQuery,
    response: nodeEventListSchema,
    handler: async ({ services, params, query }) => {
      const node = await loadNode(services, params.id);
      const levels = query.level?.split(",") as ("info" | "warn" | "error")[] | undefined;
      const rows = await findEvents(services, node.id, {
        ...(levels ? { levels } : {}),
        ...(query.kind ? { kind: query.kind } : {}),
        ...(query.before ? { before: new Date(query.before) } : {}),
        limit: query.limit + 1,
      });
      const page = rows.slice(0, query.limit);
      return {
        items: page.map(toNodeEventOut),
        next_before: rows.length > query.limit ? iso(page.at(-1)!.at) : null,
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
      const { node, sync } = await editNode(services, await loadNode(services, params.id), body);
      return { ...toNodeOut(node, services.now()), binding_sync: sync };
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
      await deleteNode(services, await loadNode(services, params.id));
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
        expires_at: iso(issued.expiresAt),
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
      const tested = await testNode(services, await loadNode(services, params.id));
      return {
        ok: true as const,
        protocol_version: tested.capabilities.protocol,
        server_version: tested.capabilities.server_version,
        capabilities: summarize(tested.capabilities),
        readiness: tested.readiness,
        path: tested.node.connectivity === "outbound" ? ("channel" as const) : ("base_url" as const),
        channel: await nodeChannel(services, tested.node),
        node: toNodeOut(tested.node, services.now()),
      };
    },
  }),
];
