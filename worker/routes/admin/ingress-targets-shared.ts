// Owns the pieces of the ingress-target routes that are not endpoints: loading a target of a node, sealing S3 credentials, and demoting the other defaults when one is promoted.
import { and, eq, ne, sql } from "drizzle-orm";
import { AppError } from "../../../shared/errors.ts";
import { ingressTargets } from "../../db/schema.ts";
import { credentialContext, type TargetRow } from "../../followers/ingress.ts";
import { encryptSecret } from "../../secrets.ts";
import type { Services } from "../../services.ts";

export const nameTaken = () =>
  new AppError("name_taken", "This node already has an ingress target with this name.");

export async function loadTarget(services: Services, nodeId: string, targetId: string): Promise<TargetRow> {
  const [t] = await services.db
    .select()
    .from(ingressTargets)
    .where(and(eq(ingressTargets.id, targetId), eq(ingressTargets.nodeId, nodeId)));
  if (!t) throw new AppError("not_found", "No such ingress target on this node.");
  return t;
}

export async function sealCredentials(
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
export function demoteOthers(services: Services, nodeId: string, keepId: string, at: Date) {
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
