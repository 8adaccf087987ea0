// Owns storage policies: drivers remote (a follower node), s3 (any S3-compatible store) and primary
// (the R2 binding). A remote policy is refused unless its node is enabled, enrolled, reachable,
// tested successfully and compatible with the chosen modes. Driver and node are fixed once created,
// because files keep the policy they were written with; a policy still in use is not deleted.
import { and, eq, inArray, ne } from "drizzle-orm";
import { randomId } from "../../shared/crypto.ts";
import { AppError } from "../../shared/errors.ts";
import type { CreatePolicyBody, EditPolicyBody } from "../api/policies.ts";
import { isForeignKeyViolation, isUniqueViolation } from "../db/constraints.ts";
import { followerNodes, policyGroupRules, storagePolicies, uploadSessions } from "../db/schema.ts";
import { encryptSecret } from "../secrets.ts";
import type { Services } from "../services.ts";
import { type PolicyRow, policyCredentialContext } from "../storage/factory.ts";
import { checkChunkSize, checkModes, checkRemoteNode, normalizeKeyPrefix } from "./check.ts";

const nameTaken = () => new AppError("name_taken", "A storage policy with this name already exists.");

export async function loadPolicy(services: Services, id: string): Promise<PolicyRow> {
  const [p] = await services.db.select().from(storagePolicies).where(eq(storagePolicies.id, id));
  if (!p) throw new AppError("not_found", "No such storage policy.");
  return p;
}

async function assertRemoteUsable(
  services: Services,
  nodeId: string,
  modes: { uploadMode: "relay_stream" | "presigned"; downloadMode: "relay_stream" | "presigned" },
  excludePolicyId: string | null,
) {
  const [node] = await services.db.select().from(followerNodes).where(eq(followerNodes.id, nodeId));
  if (!node) {
    throw new AppError("validation_failed", "node_id names no follower node.", {
      details: [{ path: "node_id", message: "no such follower node" }],
    });
  }
  const others = await services.db
    .select({ uploadMode: storagePolicies.uploadMode, downloadMode: storagePolicies.downloadMode })
    .from(storagePolicies)
    .where(
      and(
        eq(storagePolicies.nodeId, nodeId),
        eq(storagePolicies.driver, "remote"),
        excludePolicyId ? ne(storagePolicies.id, excludePolicyId) : undefined,
      ),
    );
  checkRemoteNode(node, modes, others);
}

async function sealS3(
  services: Services,
  id: string,
  s3: { access_key_id?: string; secret_access_key?: string },
) {
  const secret = services.env.FLOTILLA_SECRET;
  return {
    ...(s3.access_key_id !== undefined
      ? {
          s3AccessKeyEnc: await encryptSecret(
            secret,
            s3.access_key_id,
            policyCredentialContext(id, "access_key"),
          ),
        }
      : {}),
    ...(s3.secret_access_key !== undefined
      ? {
          s3SecretKeyEnc: await encryptSecret(
            secret,
            s3.secret_access_key,
            policyCredentialContext(id, "secret_key"),
          ),
        }
      : {}),
  };
}

export async function listPolicies(services: Services): Promise<PolicyRow[]> {
  return services.db.select().from(storagePolicies).orderBy(storagePolicies.name);
}

export async function createPolicy(services: Services, body: CreatePolicyBody): Promise<PolicyRow> {
  const modes = { uploadMode: body.upload_mode, downloadMode: body.download_mode };
  const keyPrefix = normalizeKeyPrefix(body.key_prefix);
  checkChunkSize(body.driver, body.chunk_size);
  checkModes(body.driver, modes);
  if (body.driver === "remote") await assertRemoteUsable(services, body.node_id, modes, null);
  const id = randomId();
  const at = services.now();
  try {
    const [row] = await services.db
      .insert(storagePolicies)
      .values({
        id,
        name: body.name,
        driver: body.driver,
        nodeId: body.driver === "remote" ? body.node_id : null,
        maxFileSize: body.max_file_size,
        chunkSize: body.chunk_size,
        uploadMode: body.upload_mode,
        downloadMode: body.download_mode,
        keyPrefix,
        ...(body.driver === "s3"
          ? {
              s3Endpoint: body.s3.endpoint,
              s3Region: body.s3.region,
              s3Bucket: body.s3.bucket,
              s3ForcePathStyle: body.s3.path_style,
              ...(await sealS3(services, id, body.s3)),
            }
          : {}),
        createdAt: at,
        updatedAt: at,
      })
      .returning();
    return row!;
  } catch (error) {
    throw isUniqueViolation(error) ? nameTaken() : error;
  }
}

export async function updatePolicy(
  services: Services,
  policy: PolicyRow,
  body: EditPolicyBody,
): Promise<PolicyRow> {
  if (body.s3 && policy.driver !== "s3") {
    throw new AppError("validation_failed", "s3 fields apply to s3 policies only.", {
      details: [{ path: "s3", message: "only for driver s3" }],
    });
  }
  const modes = {
    uploadMode: body.upload_mode ?? policy.uploadMode,
    downloadMode: body.download_mode ?? policy.downloadMode,
  };
  checkChunkSize(policy.driver, body.chunk_size ?? policy.chunkSize);
  checkModes(policy.driver, modes);
  const modesChanged = modes.uploadMode !== policy.uploadMode || modes.downloadMode !== policy.downloadMode;
  if (policy.driver === "remote" && policy.nodeId && modesChanged) {
    await assertRemoteUsable(services, policy.nodeId, modes, policy.id);
  }
  const s3 = body.s3 ?? {};
  try {
    const [row] = await services.db
      .update(storagePolicies)
      .set({
        ...(body.name !== undefined ? { name: body.name } : {}),
        ...(body.max_file_size !== undefined ? { maxFileSize: body.max_file_size } : {}),
        ...(body.chunk_size !== undefined ? { chunkSize: body.chunk_size } : {}),
        uploadMode: modes.uploadMode,
        downloadMode: modes.downloadMode,
        ...(body.key_prefix !== undefined ? { keyPrefix: normalizeKeyPrefix(body.key_prefix) } : {}),
        ...(s3.endpoint !== undefined ? { s3Endpoint: s3.endpoint } : {}),
        ...(s3.region !== undefined ? { s3Region: s3.region } : {}),
        ...(s3.bucket !== undefined ? { s3Bucket: s3.bucket } : {}),
        ...(s3.path_style !== undefined ? { s3ForcePathStyle: s3.path_style } : {}),
        ...(await sealS3(services, policy.id, s3)),
        updatedAt: services.now(),
      })
      .where(eq(storagePolicies.id, policy.id))
      .returning();
    return row!;
  } catch (error) {
    throw isUniqueViolation(error) ? nameTaken() : error;
  }
}

/** Refused while a policy group rule, an upload in progress, owed cleanup or a stored file uses it. */
export async function deletePolicy(services: Services, policy: PolicyRow): Promise<void> {
  const rules = await services.db
    .select({ groupId: policyGroupRules.groupId })
    .from(policyGroupRules)
    .where(eq(policyGroupRules.policyId, policy.id));
  if (rules.length > 0) {
    throw new AppError("policy_in_use", "Policy group rules still use this storage policy.", {
      details: { policy_groups: [...new Set(rules.map((r) => r.groupId))] },
    });
  }
  const [live] = await services.db
    .select({ id: uploadSessions.id })
    .from(uploadSessions)
    .where(and(eq(uploadSessions.policyId, policy.id), inArray(uploadSessions.state, ["open", "completing"])))
    .limit(1);
  if (live) throw new AppError("policy_in_use", "Uploads to this storage policy are in progress.");
  // A failed or aborted upload whose parts or object are still to be removed from the storage
  // needs the policy to reach it; deleting the policy would leave those bytes there for good.
  const [owed] = await services.db
    .select({ id: uploadSessions.id })
    .from(uploadSessions)
    .where(and(eq(uploadSessions.policyId, policy.id), eq(uploadSessions.cleanupPending, true)))
    .limit(1);
  if (owed) {
    throw new AppError(
      "policy_in_use",
      "Cancelled uploads of this storage policy still have data to remove from the storage; the scheduled cleanup retries it.",
    );
  }
  try {
    // Finished sessions are history only; they go with the policy, in one transaction, so a
    // refusal below (files still stored) leaves them as they were. A cleanup owed meanwhile
    // keeps its session (and the batch refuses through the foreign key).
    await services.db.batch([
      services.db
        .delete(uploadSessions)
        .where(
          and(
            eq(uploadSessions.policyId, policy.id),
            inArray(uploadSessions.state, ["completed", "failed", "aborted"]),
            eq(uploadSessions.cleanupPending, false),
          ),
        ),
      services.db.delete(storagePolicies).where(eq(storagePolicies.id, policy.id)),
    ]);
  } catch (error) {
    if (isForeignKeyViolation(error)) {
      throw new AppError(
        "policy_in_use",
        "Files stored with this policy still exist (in the trash too), or their objects await deletion.",
      );
    }
    throw error;
  }
}
