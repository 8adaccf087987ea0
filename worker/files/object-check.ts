// Owns the admin's proof of where an upload landed: any file's record (trashed or not, in any space),
// the policy that holds it, and what a HEAD through that policy's own driver finds.
import { eq } from "drizzle-orm";
import { notFound } from "../../shared/errors.ts";
import { files } from "../db/schema.ts";
import type { Services } from "../services.ts";
import type { PolicyRow } from "../storage/factory.ts";
import type { ObjectInfo } from "../storage/types.ts";
import type { FileRow } from "./records.ts";
import { fileDriver, policyOf, storageFailure } from "./serve.ts";

export async function checkStoredObject(
  services: Services,
  fileId: string,
): Promise<{ file: FileRow; policy: PolicyRow; object: ObjectInfo | null }> {
  const [file] = await services.db.select().from(files).where(eq(files.id, fileId));
  if (!file) throw notFound("file");
  const policy = await policyOf(services, file);
  const driver = await fileDriver(services, file, policy);
  try {
    return { file, policy, object: await driver.head(file.storageKey) };
  } catch (error) {
    throw storageFailure(error, policy.id);
  }
}
