// Owns the S3 settings of an ingress target or a storage policy on the wire: the fields a body
// gives (credentials write-only) and how stored settings are shown: endpoint, region, bucket, path
// style and whether credentials are set; never the credentials.
import { z } from "zod";

export const s3FieldsSchema = z.object({
  endpoint: z.url({ protocol: /^https?$/ }),
  region: z.string().trim().min(1).max(64).default("us-east-1"),
  bucket: z.string().trim().min(1).max(255),
  path_style: z.boolean().default(true),
  access_key_id: z.string().min(1).max(256),
  secret_access_key: z.string().min(1).max(512),
});

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
