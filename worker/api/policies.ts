// Owns the wire shape of storage policies: the policy as the admin API shows it (never credentials),
// the create and edit bodies per driver, and the answer of a policy's connection test.
import { z } from "zod";
import { POLICY_DRIVERS, type storagePolicies, TRANSFER_MODES } from "../db/schema.ts";
import { s3FieldsSchema, s3SettingsView, s3SettingsViewSchema } from "./s3-settings.ts";
import { idRef, iso, timestamp } from "./wire.ts";

/** What the policy fields mean, for the OpenAPI document and a generated client. */
const DESCRIBE = {
  max_file_size: "Largest single file in bytes; 0 = unlimited",
  chunk_size:
    "Bytes per upload part (the last part carries the rest), raised to the storage's minimum part size and capped for relayed parts; 0 = the whole file in one part (a relayed file above the cap is still split). Default 5 MiB",
  upload_mode:
    "relay_stream: the bytes pass through the primary; presigned: the client sends them to the storage with short-lived URLs",
  download_mode: "relay_stream: the primary streams the bytes; presigned: a 302 to a short-lived storage URL",
  key_prefix: "Prefix of every object key the policy writes in its storage",
};

export const policySchema = z
  .object({
    id: z.string(),
    name: z.string(),
    driver: z.enum(POLICY_DRIVERS),
    node_id: z.string().nullable(),
    max_file_size: z.number().int().describe(DESCRIBE.max_file_size),
    chunk_size: z.number().int().describe(DESCRIBE.chunk_size),
    upload_mode: z.enum(TRANSFER_MODES).describe(DESCRIBE.upload_mode),
    download_mode: z.enum(TRANSFER_MODES).describe(DESCRIBE.download_mode),
    key_prefix: z.string().describe(DESCRIBE.key_prefix),
    s3: s3SettingsViewSchema,
    created_at: timestamp,
    updated_at: timestamp,
  })
  .meta({ id: "StoragePolicy" });
export type PolicyOut = z.infer<typeof policySchema>;

export const policyListSchema = z.object({ policies: z.array(policySchema) });

export function toPolicyOut(p: typeof storagePolicies.$inferSelect): PolicyOut {
  return {
    id: p.id,
    name: p.name,
    driver: p.driver,
    node_id: p.nodeId,
    max_file_size: p.maxFileSize,
    chunk_size: p.chunkSize,
    upload_mode: p.uploadMode,
    download_mode: p.downloadMode,
    key_prefix: p.keyPrefix,
    s3: s3SettingsView(p),
    created_at: iso(p.createdAt),
    updated_at: iso(p.updatedAt),
  };
}

const mode = z.enum(TRANSFER_MODES);

const common = {
  name: z.string().trim().min(1).max(200),
  /** Single-file size limit in bytes; 0 = unlimited. */
  max_file_size: z.number().int().nonnegative().default(0).describe(DESCRIBE.max_file_size),
  chunk_size: z
    .number()
    .int()
    .nonnegative()
    .default(5 * 1024 * 1024)
    .describe(DESCRIBE.chunk_size),
  upload_mode: mode.default("relay_stream").describe(DESCRIBE.upload_mode),
  download_mode: mode.default("relay_stream").describe(DESCRIBE.download_mode),
  key_prefix: z.string().max(512).default("").describe(DESCRIBE.key_prefix),
};

export const createPolicyBody = z.discriminatedUnion("driver", [
  z.object({ ...common, driver: z.literal("remote"), node_id: idRef }),
  z.object({ ...common, driver: z.literal("s3"), s3: s3FieldsSchema }),
  z.object({ ...common, driver: z.literal("primary") }),
]);
export type CreatePolicyBody = z.infer<typeof createPolicyBody>;

export const editPolicyBody = z
  .object({
    name: common.name.optional(),
    max_file_size: z.number().int().nonnegative().optional(),
    chunk_size: z.number().int().nonnegative().optional(),
    upload_mode: mode.optional(),
    download_mode: mode.optional(),
    key_prefix: z.string().max(512).optional(),
    s3: s3FieldsSchema.partial().optional(),
  })
  .refine((b) => Object.keys(b).length > 0, { message: "nothing to change" });
export type EditPolicyBody = z.infer<typeof editPolicyBody>;

export const POLICY_TEST_STEPS = ["write", "read", "delete"] as const;

export const policyTestSchema = z
  .object({
    ok: z.boolean(),
    driver: z.enum(POLICY_DRIVERS),
    location: z.string().nullable(),
    steps: z.array(
      z.object({
        step: z.enum(POLICY_TEST_STEPS),
        ok: z.boolean(),
        error: z.object({ code: z.string(), message: z.string() }).nullable(),
      }),
    ),
  })
  .meta({ id: "StoragePolicyTestResult" });
export type PolicyTestOut = z.infer<typeof policyTestSchema>;
