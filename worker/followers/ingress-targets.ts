// Owns a follower node's ingress targets as the admin manages them: create, edit, delete and
// re-apply. The primary is the source of truth; each change bumps the revision and is pushed to the
// follower (worker/followers/ingress.ts), which reports applied or failed with the reason. Exactly
// one default per node (promoting one demotes the others in the same batch); S3 credentials are
// sealed at rest and write-only.
import { and, asc, eq, ne, sql } from "drizzle-orm";
import { randomId } from "../../shared/crypto.ts";
import { AppError } from "../../shared/errors.ts";
import type { CreateIngressTargetBody, EditIngressTargetBody } from "../api/ingress-targets.ts";
import { isUniqueViolation } from "../db/constraints.ts";
import { ingressTargets } from "../db/schema.ts";
import { encryptSecret } from "../secrets.ts";
import type { Services } from "../services.ts";
import { assertReachable, followerClient, type NodeRow } from "./client.ts";
import { fromFollower } from "./errors.ts";
import { credentialContext, normalizeBasePath, pushTarget, type TargetRow } from "./ingress.ts";

const nameTaken = () => new AppError("name_taken", "This node already has an ingress target with this name.");

async function loadTarget(services: Services, nodeId: string, targetId: string): Promise<TargetRow> {
  const [t] = await services.db
    .select()
    .from(ingressTargets)
    .where(and(eq(ingressTargets.id, targetId), eq(ingressTargets.nodeId, nodeId)));
  if (!t) throw new AppError("not_found", "No such ingress target on this node.");
  return t;
}

async function sealCredentials(
  services: Services,
  id: string,
  s3: { access_key_id?: string; secret_access_key?: string },
) {
  const secret = services.env.FLOTILLA_SECRET;
  return {
    ...(s3.access_key_id !== undefined
      ? { s3AccessKeyEnc: await encryptSecret(secret, s3.access_key_id, credentialContext(id, "access_key")) }
      : {}),
    ...(s3.secret_access_key !== undefined
      ? {
          s3SecretKeyEnc: await encryptSecret(
            secret,
            s3.secret_access_key,
            credentialContext(id, "secret_key"),
          ),
        }
      : {}),
  };
}

/** Demotes the node's other targets (new revision each) so the promoted one is the only default. */
function demoteOthers(services: Services, nodeId: string, keepId: string, at: Date) {
  return services.db
    .update(ingressTargets)
    .set({
      isDefault: false,
      revision: sql`${ingressTargets.revision} + 1`,
      state: "pending",
      reason: null,
      updatedAt: at,
    })
    .where(
      and(
        eq(ingressTargets.nodeId, nodeId),
        ne(ingressTargets.id, keepId),
        eq(ingressTargets.isDefault, true),
      ),
    )
    .returning();
}

export async function listTargets(services: Services, node: NodeRow): Promise<TargetRow[]> {
  return services.db
    .select()
    .from(ingressTargets)
    .where(eq(ingressTargets.nodeId, node.id))
    .orderBy(asc(ingressTargets.createdAt));
}

/** Creates a target (the node's first becomes the default) and pushes it. */
export async function createTarget(
  services: Services,
  node: NodeRow,
  body: CreateIngressTargetBody,
): Promise<TargetRow> {
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
  return pushed;
}

/** Edits a target (credentials kept unless given) and pushes the new revision. */
export async function editTarget(
  services: Services,
  node: NodeRow,
  targetId: string,
  body: EditIngressTargetBody,
): Promise<TargetRow> {
  const target = await loadTarget(services, node.id, targetId);
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
      const [down, rows] = await services.db.batch([demoteOthers(services, node.id, target.id, at), update]);
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
  return pushed;
}

/** Deletes a target (not the default while others exist); the follower is told first. */
export async function deleteTarget(services: Services, node: NodeRow, targetId: string): Promise<void> {
  const target = await loadTarget(services, node.id, targetId);
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
}

/** Re-apply: pushes the target's current revision to the follower again. */
export async function reapplyTarget(services: Services, node: NodeRow, targetId: string): Promise<TargetRow> {
  return pushTarget(services, node, await loadTarget(services, node.id, targetId));
}
