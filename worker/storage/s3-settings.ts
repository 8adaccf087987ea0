// Owns how stored S3 settings (of an ingress target or a storage policy) are shown over the API:
// endpoint, region, bucket and path style, and whether credentials are set; never the credentials.
import { z } from "zod";

export const s3SettingsViewSchema = z
  .object({
    endpoint: z.string(),
    region: z.string(),
    bucket: z.string(),
    path_style: z.boolean(),
    has_credentials: z.boolean(),
  })
  .nullable();

/** The S3 columns both ingress_targets and storage_policies carry. */
interface S3Columns {
  driver: string;
  s3Endpoint: string | null;
  s3Region: string | null;
  s3Bucket: string | null;
  s3ForcePathStyle: boolean;
  s3AccessKeyEnc: string | null;
  s3SecretKeyEnc: string | null;
}

export function s3SettingsView(row: S3Columns): z.infer<typeof s3SettingsViewSchema> {
  if (row.driver !== "s3") return null;
  return {
    endpoint: row.s3Endpoint ?? "",
    region: row.s3Region ?? "",
    bucket: row.s3Bucket ?? "",
    path_style: row.s3ForcePathStyle,
    has_credentials: Boolean(row.s3AccessKeyEnc && row.s3SecretKeyEnc),
  };
}
