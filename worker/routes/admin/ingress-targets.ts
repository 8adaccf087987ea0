// Node Details -> Primary-managed ingress targets: create, edit, delete, re-apply. The primary is the
// source of truth; each change bumps the revision and is pushed to the follower, which reports
// applied or failed (with the reason). Exactly one default per node; S3 credentials are write-only.
import { and, asc, eq, ne, sql } from "drizzle-orm";
import { randomId } from "../../../shared/crypto.ts";
import { AppError } from "../../../shared/errors.ts";
import {
  createIngressTargetBody,
  editIngressTargetBody,
  ingressTargetListSchema,
  ingressTargetSchema,
  targetParams,
  toIngressTargetOut,
} from "../../api/ingress-targets.ts";
import { idParams } from "../../api/wire.ts";
import { isUniqueViolation } from "../../db/constraints.ts";
import { ingressTargets } from "../../db/schema.ts";
import { assertReachable, followerClient } from "../../followers/client.ts";
import { fromFollower } from "../../followers/errors.ts";
import { normalizeBasePath, pushTarget, type TargetRow } from "../../followers/ingress.ts";
import { defineRoute } from "../../http/route.ts";
import { demoteOthers, loadTarget, nameTaken, sealCredentials } from "./ingress-targets-shared.ts";
import { loadNode } from "./nodes-shared.ts";

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
      const rows = await services.db
        .select()
        .from(ingressTargets)
        .where(eq(ingressTargets.nodeId, node.id))
        .orderBy(asc(ingressTargets.createdAt));
      return { ingress_targets: rows.map(toIngressTargetOut) };
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
    handler: async ({ services, params, body }) => {
      const node = await loadNode(services, params.id);
      const basePath = normalizeBasePath(body.driver, body.base_path);
      const existing = await services.db
        .select({ id: ingressTargets.id })
        .from(ingressTargets)
        .where(eq(ingressTargets.nodeId, node.id));
      const isDefault = body.is_default || existing.length === 0;
      const id = randomId();
      const at = services.now();
      const s3 =
        body.driver === "s3"
          ? {
              s3Endpoint: body.s3.endpoint,
              s3Region: body.s3.region,
              s3Bucket: body.s3.bucket,
              s3ForcePathStyle: body.s3.path_style,
              ...(await sealCredentials(services, id, body.s3)),
            }
          : {};
      const insert = services.db
        .insert(ingressTargets)
        .values({
          id,
          nodeId: node.id,
          targetKey: `tg-${randomId().slice(0, 20)}`,
          name: body.name,
          driver: body.driver,
          basePath,
          isDefault,
          revision: 1,
          state: "pending",
          createdAt: at,
          updatedAt: at,
          ...s3,
        })
        .returning();
      let demoted: TargetRow[] = [];
      let created: TargetRow;
      try {
        // One batch (one transaction): the node never ends up with no default or two.
        if (isDefault) {
          const [down, rows] = await services.db.batch([demoteOthers(services, node.id, id, at), insert]);
          demoted = down;
          created = rows[0]!;
        } else {
          created = (await insert)[0]!;
        }
      } catch (error) {
        throw isUniqueViolation(error) ? nameTaken() : error;
      }
      // The new default first: the follower clears its other defaults when it applies it.
      const pushed = await pushTarget(services, node, created);
      for (const other of demoted) await pushTarget(services, node, other);
      return toIngressTargetOut(pushed);
    },
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
      const target = await loadTarget(services, node.id, params.targetId);
      if (body.is_default === false && target.isDefault) {
        throw new AppError(
          "ingress_default_required",
          "A node keeps exactly one default ingress target: make another target the default instead.",
        );
      }
      const driver = body.driver ?? target.driver;
      const s3 = body.s3 ?? {};
      if (driver === "s3") {
        const merged = {
          endpoint: s3.endpoint ?? target.s3Endpoint,
          bucket: s3.bucket ?? target.s3Bucket,
          access: s3.access_key_id ?? target.s3AccessKeyEnc,
          secret: s3.secret_access_key ?? target.s3SecretKeyEnc,
        };
        const missing = Object.entries(merged)
          .filter(([, v]) => !v)
          .map(([k]) => k);
        if (missing.length > 0) {
          throw new AppError(
            "validation_failed",
            "An s3 ingress target needs endpoint, bucket and credentials.",
            {
              details: missing.map((m) => ({ path: `s3.${m}`, message: "required" })),
            },
          );
        }
      }
      const basePath =
        body.base_path !== undefined || body.driver !== undefined
          ? normalizeBasePath(driver, body.base_path ?? (driver === target.driver ? target.basePath : ""))
          : target.basePath;
      const at = services.now();
      const update = services.db
        .update(ingressTargets)
        .set({
          ...(body.name !== undefined ? { name: body.name } : {}),
          driver,
          basePath,
          ...(body.is_default ? { isDefault: true } : {}),
          ...(driver === "s3"
            ? {
                ...(s3.endpoint !== undefined ? { s3Endpoint: s3.endpoint } : {}),
                ...(s3.region !== undefined ? { s3Region: s3.region } : {}),
                ...(s3.bucket !== undefined ? { s3Bucket: s3.bucket } : {}),
                ...(s3.path_style !== undefined ? { s3ForcePathStyle: s3.path_style } : {}),
                ...(await sealCredentials(services, target.id, s3)),
              }
            : {
                s3Endpoint: null,
                s3Region: null,
                s3Bucket: null,
                s3AccessKeyEnc: null,
                s3SecretKeyEnc: null,
              }),
          revision: sql`${ingressTargets.revision} + 1`,
          state: "pending",
          reason: null,
          updatedAt: at,
        })
        .where(eq(ingressTargets.id, target.id))
        .returning();
      let demoted: TargetRow[] = [];
      let updated: TargetRow;
      try {
        if (body.is_default && !target.isDefault) {
          const [down, rows] = await services.db.batch([
            demoteOthers(services, node.id, target.id, at),
            update,
          ]);
          demoted = down;
          updated = rows[0]!;
        } else {
          updated = (await update)[0]!;
        }
      } catch (error) {
        throw isUniqueViolation(error) ? nameTaken() : error;
      }
      const pushed = await pushTarget(services, node, updated);
      for (const other of demoted) await pushTarget(services, node, other);
      return toIngressTargetOut(pushed);
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
      const node = await loadNode(services, params.id);
      const target = await loadTarget(services, node.id, params.targetId);
      if (target.isDefault) {
        const others = await services.db
          .select({ id: ingressTargets.id })
          .from(ingressTargets)
          .where(and(eq(ingressTargets.nodeId, node.id), ne(ingressTargets.id, target.id)));
        if (others.length > 0) {
          throw new AppError(
            "ingress_default_in_use",
            "Make another ingress target the default before deleting this one.",
          );
        }
      }
      let reachable = true;
      try {
        assertReachable(node);
      } catch {
        reachable = false; // never delivered to a follower, so there is nothing to withdraw
      }
      if (reachable) {
        try {
          await (await followerClient(services, node)).deleteIngressTarget(target.targetKey);
        } catch (thrown) {
          const error = fromFollower(thrown);
          if (!(error instanceof AppError && error.code === "ingress_target_not_found")) throw error;
        }
      }
      await services.db.delete(ingressTargets).where(eq(ingressTargets.id, target.id));
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
      const target = await loadTarget(services, node.id, params.targetId);
      return toIngressTargetOut(await pushTarget(services, node, target));
    },
  }),
];
