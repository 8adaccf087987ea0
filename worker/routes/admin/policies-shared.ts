// Owns the storage policy view (never credentials) and the write-read-delete probe behind a policy's
// connection test, run through the very driver uploads use.
import { z } from "zod";
import { randomBytes, randomId, sha256Hex } from "../../../shared/crypto.ts";
import { AppError } from "../../../shared/errors.ts";
import { POLICY_DRIVERS, TRANSFER_MODES } from "../../db/schema.ts";
import type { Services } from "../../services.ts";
import { driverForPolicy, type PolicyRow } from "../../storage/factory.ts";
import { s3SettingsView, s3SettingsViewSchema } from "../../storage/s3-settings.ts";

export const policySchema = z.object({
  id: z.string(),
  name: z.string(),
  driver: z.enum(POLICY_DRIVERS),
  node_id: z.string().nullable(),
  max_file_size: z.number().int(),
  chunk_size: z.number().int(),
  upload_mode: z.enum(TRANSFER_MODES),
  download_mode: z.enum(TRANSFER_MODES),
  key_prefix: z.string(),
  s3: s3SettingsViewSchema,
  created_at: z.iso.datetime(),
  updated_at: z.iso.datetime(),
});

export function policyView(p: PolicyRow): z.infer<typeof policySchema> {
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
    created_at: p.createdAt.toISOString(),
    updated_at: p.updatedAt.toISOString(),
  };
}

const STEPS = ["write", "read", "delete"] as const;

export const policyTestSchema = z.object({
  ok: z.boolean(),
  driver: z.enum(POLICY_DRIVERS),
  location: z.string().nullable(),
  steps: z.array(
    z.object({
      step: z.enum(STEPS),
      ok: z.boolean(),
      error: z.object({ code: z.string(), message: z.string() }).nullable(),
    }),
  ),
});
type Step = z.infer<typeof policyTestSchema>["steps"][number];

/** Writes a small random object, reads it back byte for byte, deletes it and checks it is gone. */
export async function testPolicy(
  services: Services,
  policy: PolicyRow,
): Promise<z.infer<typeof policyTestSchema>> {
  const steps: Step[] = [];
  const data = randomBytes(1024);
  const digest = await sha256Hex(data);
  const key = `_flotilla-probe/${randomId()}`;
  let location: string | null = null;
  const step = async (name: Step["step"], run: () => Promise<void>) => {
    try {
      await run();
      steps.push({ step: name, ok: true, error: null });
      return true;
    } catch (thrown) {
      const e =
        thrown instanceof AppError ? thrown : new AppError("internal", "Internal error.", { cause: thrown });
      if (e.code === "internal")
        services.log.error("policy test failed", { policy_id: policy.id, step: name });
      steps.push({ step: name, ok: false, error: { code: e.code, message: e.message } });
      return false;
    }
  };
  const wrote = await step("write", async () => {
    const driver = await driverForPolicy(services, policy);
    const put = await driver.put(key, new Blob([data]).stream(), {
      size: data.length,
      sha256: digest,
      contentType: "application/octet-stream",
    });
    location = put.location;
  });
  if (wrote) {
    const driver = await driverForPolicy(services, policy, { location }).catch(() => null);
    await step("read", async () => {
      const got = await driver!.get(key);
      if (!got) throw new AppError("storage_unavailable", "The probe object was not found after writing it.");
      const back = new Uint8Array(await new Response(got.body).arrayBuffer());
      if ((await sha256Hex(back)) !== digest)
        throw new AppError("storage_unavailable", "The probe object read back differs.");
    });
    await step("delete", async () => {
      await driver!.delete(key);
      if (await driver!.head(key))
        throw new AppError("storage_unavailable", "The probe object is still there after deleting it.");
    });
  }
  return {
    ok: steps.length === STEPS.length && steps.every((s) => s.ok),
    driver: policy.driver,
    location,
    steps,
  };
}
