// Node Details -> Primary-managed ingress targets: list, create, edit, delete, re-apply. What a change
// does (revision, push, the single default, sealed credentials) is the domain's
// (worker/followers/ingress-targets.ts).
import {
  createIngressTargetBody,
  editIngressTargetBody,
  ingressTargetListSchema,
  ingressTargetSchema,
  targetParams,
  toIngressTargetOut,
} from "../../api/ingress-targets.ts";
import { idParams } from "../../api/wire.ts";
import {
  createTarget,
  deleteTarget,
  editTarget,
  listTargets,
  reapplyTarget,
} from "../../followers/ingress-targets.ts";
import { loadNode } from "../../followers/nodes.ts";
import { defineRoute } from "../../http/route.ts";

const TAG = "ingress-targets";
const BASE = "/api/v1/admin/nodes/:id/ingress-targets";

export const ingressTargetRoutes = [
  defineRoute({
    method: "GET",
    path: BASE,
    access: "admin",
    summary: "List a follower node's ingress targets with their apply state",
    tag: TAG,
    params: idParams,
    response: ingressTargetListSchema,
    handler: async ({ services, params }) => {
      const node = await loadNode(services, params.id);
      return { ingress_targets: (await listTargets(services, node)).map(toIngressTargetOut) };
    },
  }),

  defineRoute({
    method: "POST",
    path: BASE,
    access: "admin",
    summary: "Create an ingress target (the node's first becomes the default) and push it",
    tag: TAG,
    params: idParams,
    body: createIngressTargetBody,
    response: ingressTargetSchema,
    status: 201,
    handler: async ({ services, params, body }) =>
      toIngressTargetOut(await createTarget(services, await loadNode(services, params.id), body)),
  }),

  defineRoute({
    method: "PATCH",
    path: `${BASE}/:targetId`,
    access: "admin",
    summary: "Edit an ingress target (credentials kept unless given) and push the new revision",
    tag: TAG,
    params: targetParams,
    body: editIngressTargetBody,
    response: ingressTargetSchema,
    handler: async ({ services, params, body }) => {
      const node = await loadNode(services, params.id);
      return toIngressTargetOut(await editTarget(services, node, params.targetId, body));
    },
  }),

  defineRoute({
    method: "DELETE",
    path: `${BASE}/:targetId`,
    access: "admin",
    summary: "Delete an ingress target (not the default while others exist); the follower is told first",
    tag: TAG,
    params: targetParams,
    handler: async ({ services, params }) => {
      await deleteTarget(services, await loadNode(services, params.id), params.targetId);
    },
  }),

  defineRoute({
    method: "POST",
    path: `${BASE}/:targetId/apply`,
    access: "admin",
    summary: "Re-apply: push the ingress target's current revision to the follower again",
    tag: TAG,
    params: targetParams,
    response: ingressTargetSchema,
    handler: async ({ services, params }) => {
      const node = await loadNode(services, params.id);
      return toIngressTargetOut(await reapplyTarget(services, node, params.targetId));
    },
  }),
];
