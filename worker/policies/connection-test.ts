// Owns the write-read-delete probe behind a storage policy's connection test, run through the very
// driver uploads use.
import { randomBytes, randomId, sha256Hex } from "../../shared/crypto.ts";
import { AppError } from "../../shared/errors.ts";
import { POLICY_TEST_STEPS, type PolicyTestOut } from "../api/policies.ts";
import type { Services } from "../services.ts";
import { driverForPolicy, type PolicyRow } from "../storage/factory.ts";

type Step = PolicyTestOut["steps"][number];

/** Writes a small random object, reads it back byte for byte, deletes it and checks it is gone. */
export async function testPolicy(services: Services, policy: PolicyRow): Promise<PolicyTestOut> {
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
    ok: steps.length === POLICY_TEST_STEPS.length && steps.every((s) => s.ok),
    driver: policy.driver,
    location,
    steps,
  };
}
