// Owns ingress targets on the primary, the source of truth: base path rules, the spec pushed to the
// follower with its revision (credentials decrypted only for the push), and the state the follower
// reports back: pending (not delivered yet), applied, or failed with its reason.
import { and, eq } from "drizzle-orm";
import { AppError } from "../../shared/errors.ts";
import { keyProblem } from "../../shared/protocol/keys.ts";
import type { IngressTargetSpec } from "../../shared/protocol/schemas.ts";
import { ingressTargets } from "../db/schema.ts";
import { decryptSecret } from "../secrets.ts";
import type { Services } from "../services.ts";
import { assertReachable, followerClient, type NodeRow, reasonOf } from "./client.ts";
import { fromFollower } from "./errors.ts";
import { recordEvent } from "./events.ts";

export type TargetRow = typeof ingressTargets.$inferSelect;

export const credentialContext = (id: string, which: "access_key" | "secret_key") =>
  `ingress_targets.s3_${which}:${id}`;

/**
 * A local base path is relative and made of protocol-v2 key segments (or "." for the root itself),
 * so `..`, absolute paths, backslashes and encoded tricks are refused before anything is stored; the
 * agent re-checks it against symlinks on its disk. An s3 prefix follows the same rule or is empty.
 */
export function normalizeBasePath(driver: "local" | "s3", input: string): string {
  const trimmed = input.trim();
  const path = driver === "s3" ? trimmed.replace(/^\/+|\/+$/g, "") : trimmed.replace(/(.)\/+$/, "$1");
  if (driver === "s3" && path === "") return "";
  if (driver === "local" && path === ".") return ".";
  const problem = keyProblem(path);
  if (problem) {
    throw new AppError("ingress_path_invalid", `The base path ${problem}.`, {
      details: [{ path: "base_path", message: problem }],
    });
  }
  return path;
}

async function specOf(services: Services, t: TargetRow): Promise<IngressTargetSpec> {
  const common = { name: t.name, revision: t.revision, is_default: t.isDefault };
  if (t.driver === "local") return { ...common, driver: "local", base_path: t.basePath };
  const secret = services.env.FLOTILLA_SECRET;
  return {
    ...common,
    driver: "s3",
    endpoint: t.s3Endpoint ?? "",
    region: t.s3Region ?? "us-east-1",
    bucket: t.s3Bucket ?? "",
    prefix: t.basePath,
    path_style: t.s3ForcePathStyle,
    access_key_id: await decryptSecret(secret, t.s3AccessKeyEnc ?? "", credentialContext(t.id, "access_key")),
    secret_access_key: await decryptSecret(
      secret,
      t.s3SecretKeyEnc ?? "",
      credentialContext(t.id, "secret_key"),
    ),
  };
}

/**
 * Pushes one target and stores what the follower reports. An unreachable follower leaves the target
 * pending (the scheduled task re-pushes it); a refusal marks it failed with the reason. A result is
 * only written while the row still has the pushed revision, so a slow push never overwrites a newer edit.
 */
export async function pushTarget(services: Services, node: NodeRow, target: TargetRow): Promise<TargetRow> {
  const at = services.now();
  const save = async (fields: Partial<TargetRow>) => {
    const [row] = await services.db
      .update(ingressTargets)
      .set({ ...fields, updatedAt: at })
      .where(and(eq(ingressTargets.id, target.id), eq(ingressTargets.revision, target.revision)))
      .returning();
    return row ?? target;
  };
  try {
    assertReachable(node);
  } catch (error) {
    return save({ state: "pending", reason: reasonOf(error) });
  }
  try {
    const client = await followerClient(services, node);
    const info = await client.upsertIngressTarget(target.targetKey, await specOf(services, target));
    const level = info.state === "failed" ? "error" : "info";
    await recordEvent(
      services,
      node.id,
      level,
      "ingress_push",
      `${target.name} r${target.revision}: ${info.state}${info.reason ? ` (${info.reason})` : ""}`,
    );
    return save({ state: info.state, reason: info.reason, appliedRevision: info.applied_revision });
  } catch (thrown) {
    const error = fromFollower(thrown);
    const reason = reasonOf(error);
    const transient =
      error instanceof AppError &&
      ["follower_unreachable", "follower_timeout", "node_disabled"].includes(error.code);
    await recordEvent(
      services,
      node.id,
      transient ? "warn" : "error",
      "ingress_push",
      `${target.name} r${target.revision}: ${reason}`,
    );
    return save(transient ? { state: "pending", reason } : { state: "failed", reason });
  }
}
