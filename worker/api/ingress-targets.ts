// Owns the wire shape of a follower node's ingress targets: the target as the admin API shows it with
// its revision and apply state (never credentials), and the create and edit bodies.
import { z } from "zod";
import { INGRESS_DRIVERS, INGRESS_STATES, type ingressTargets } from "../db/schema.ts";
import { s3FieldsSchema, s3SettingsView, s3SettingsViewSchema } from "./s3-settings.ts";
import { idParams, idRef, iso, timestamp } from "./wire.ts";

export const ingressTargetSchema = z
  .object({
    id: z.string(),
    node_id: z.string(),
    key: z.string(),
    name: z.string(),
    driver: z.enum(INGRESS_DRIVERS),
    base_path: z.string(),
    s3: s3SettingsViewSchema,
    is_default: z.boolean(),
    revision: z.number().int(),
    applied_revision: z.number().int().nullable(),
    state: z.enum(INGRESS_STATES),
    reason: z.string().nullable(),
    created_at: timestamp,
    updated_at: timestamp,
  })
  .meta({ id: "IngressTarget" });
export type IngressTargetOut = z.infer<typeof ingressTargetSchema>;

export const ingressTargetListSchema = z.object({ ingress_targets: z.array(ingressTargetSchema) });

export function toIngressTargetOut(t: typeof ingressTargets.$inferSelect): IngressTargetOut {
  return {
    id: t.id,
    node_id: t.nodeId,
    key: t.targetKey,
    name: t.name,
    driver: t.driver,
    base_path: t.basePath,
    s3: s3SettingsView(t),
    is_default: t.isDefault,
    revision: t.revision,
    applied_revision: t.appliedRevision,
    state: t.state,
    reason: t.reason,
    created_at: iso(t.createdAt),
    updated_at: iso(t.updatedAt),
  };
}

export const targetParams = idParams.extend({ targetId: idRef });

export const createIngressTargetBody = z.discriminatedUnion("driver", [
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
    s3: s3FieldsSchema,
  }),
]);
export type CreateIngressTargetBody = z.infer<typeof createIngressTargetBody>;

export const editIngressTargetBody = z
  .object({
    name: z.string().trim().min(1).max(200).optional(),
    driver: z.enum(INGRESS_DRIVERS).optional(),
    base_path: z.string().max(1024).optional(),
    /** Only `true` changes anything: a default is replaced by promoting another target. */
    is_default: z.boolean().optional(),
    s3: s3FieldsSchema.partial().optional(),
  })
  .refine((b) => Object.keys(b).length > 0, { message: "nothing to change" });
export type EditIngressTargetBody = z.infer<typeof editIngressTargetBody>;
