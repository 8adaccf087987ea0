// Owns the walk's ingress targets (tutorial §2-§3): the local target with base path `default`
// and an s3 target, each reused when it exists and insisted on being applied, and which one is the
// node's default (objects go to the default target, so the walk points it at the target under test).
import { z } from "zod";
import { ingressTargetSchema } from "../../worker/api/ingress-targets.ts";
import type { NodeView, Target } from "./admin.ts";
import type { Api } from "./api.ts";
import type { S3Config } from "./config.ts";
import { check } from "./walk.ts";

const targetsSchema = z.object({ ingress_targets: z.array(ingressTargetSchema) });

export async function listTargets(admin: Api, nodeId: string): Promise<Target[]> {
  const path = `/api/v1/admin/nodes/${nodeId}/ingress-targets`;
  return (await admin.json("GET", path, targetsSchema)).ingress_targets;
}

/** Re-applies a target that is not applied yet, then insists it is. */
async function applied(admin: Api, node: NodeView, target: Target): Promise<Target> {
  let current = target;
  if (current.state !== "applied") {
    const path = `/api/v1/admin/nodes/${node.id}/ingress-targets/${current.id}/apply`;
    current = await admin.json("POST", path, ingressTargetSchema, { body: {} });
  }
  check(
    current.state === "applied",
    `target ${current.name} is ${current.state}: ${current.reason ?? "no reason"}`,
  );
  return current;
}

/** The tutorial's first target: local, base path `default`; created as the default when missing. */
export async function ensureLocalTarget(
  admin: Api,
  node: NodeView,
): Promise<{ target: Target; created: boolean }> {
  const existing = (await listTargets(admin, node.id)).find(
    (t) => t.driver === "local" && t.base_path === "default",
  );
  if (existing) return { target: await applied(admin, node, existing), created: false };
  const taken = (await listTargets(admin, node.id)).some((t) => t.name === "default-local");
  const path = `/api/v1/admin/nodes/${node.id}/ingress-targets`;
  const target = await admin.json("POST", path, ingressTargetSchema, {
    body: {
      driver: "local",
      name: taken ? `default-local-${Date.now()}` : "default-local",
      base_path: "default",
      is_default: true,
    },
  });
  return { target: await applied(admin, node, target), created: true };
}

/** An s3 target for the given bucket and prefix, reused when one exists (credentials refreshed). */
export async function ensureS3Target(
  admin: Api,
  node: NodeView,
  s3: S3Config,
  runId: string,
): Promise<{ target: Target; created: boolean }> {
  const credentials = {
    endpoint: s3.endpoint,
    region: s3.region,
    bucket: s3.bucket,
    path_style: s3.pathStyle,
    access_key_id: s3.accessKeyId,
    secret_access_key: s3.secretAccessKey,
  };
  const base = `/api/v1/admin/nodes/${node.id}/ingress-targets`;
  const existing = (await listTargets(admin, node.id)).find(
    (t) =>
      t.driver === "s3" &&
      t.s3?.endpoint.replace(/\/+$/, "") === s3.endpoint.replace(/\/+$/, "") &&
      t.s3.bucket === s3.bucket &&
      t.base_path === s3.basePath,
  );
  if (existing) {
    const target = await admin.json("PATCH", `${base}/${existing.id}`, ingressTargetSchema, {
      body: { s3: credentials },
    });
    return { target: await applied(admin, node, target), created: false };
  }
  const target = await admin.json("POST", base, ingressTargetSchema, {
    body: {
      driver: "s3",
      name: `acceptance-s3-${runId}`,
      base_path: s3.basePath,
      is_default: false,
      s3: credentials,
    },
  });
  return { target: await applied(admin, node, target), created: true };
}

/** Objects go to the node's default target, so the walk makes the target under test the default. */
export async function makeDefault(admin: Api, node: NodeView, target: Target): Promise<Target> {
  const current = (await listTargets(admin, node.id)).find((t) => t.id === target.id);
  if (!current) throw new Error(`ingress target ${target.name} no longer exists`);
  const path = `/api/v1/admin/nodes/${node.id}/ingress-targets/${target.id}`;
  const updated = current.is_default
    ? current
    : await admin.json("PATCH", path, ingressTargetSchema, { body: { is_default: true } });
  check(updated.is_default, `${target.name} did not become the default`);
  return applied(admin, node, updated);
}
