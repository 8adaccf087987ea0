// Owns the pieces of the ingress-target routes that are not endpoints: request bodies, loading a
// target of a node, sealing S3 credentials, and demoting the other defaults when one is promoted.
import { and, eq, ne, sql } from "drizzle-orm";
import { z } from "zod";
import { AppError } from "../../../shared/errors.ts";
import { INGRESS_DRIVERS, ingressTargets } from "../../db/schema.ts";
import { credentialContext, type TargetRow } from "../../followers/ingress.ts";
import { encryptSecret } from "../../secrets.ts";
import type { Services } from "../../services.ts";

const s3Fields = z.object({
  endpoint: z.url({ protocol: /^https?$/ }),
  region: z.string().trim().min(1).max(64).default("us-east-1"),
  bucket: z.string().trim().min(1).max(255),
  path_style: z.boolean().default(true),
  access_key_id: z.string().min(1).max(256),
  secret_access_key: z.string().min(1).max(512),
});

export const createBody = z.discriminatedUnion("driver", [
  z.object({
    driver: z.literal("local"),
    name: z.string().trim().min(1).max(200),
    base_path: z.string().max(1024),
    is_default: z.boolean().default(false),
  }),
  z.object({
    driver: z.literal("s3"),
    name: z.string().trim().min(1).max(200),
    base_path: z.string().max(512).default(""),
    is_default: z.boolean().default(false),
    s3: s3Fields,
  }),
]);

export const editBody = z
  .object({
    name: z.string().trim().min(1).max(200).optional(),
    driver: z.enum(INGRESS_DRIVERS).optional(),
    base_path: z.string().max(1024).optional(),
    /** Only `true` changes anything: a default is replaced by promoting another target. */
    is_default: z.boolean().optional(),
    s3: s3Fields.partial().optional(),
  })
  .refine((b) => Object.keys(b).length > 0, { message: "nothing to change" });

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
