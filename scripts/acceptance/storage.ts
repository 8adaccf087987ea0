// Owns tutorial §8 step 7, "check whether objects appear in the ingress target directory or object
// storage": the admin storage check (a HEAD through the file's own driver), and, when the walk can
// see them, the file itself under the follower's ingress root or the object in the S3 bucket.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { AwsClient } from "aws4fetch";
import { z } from "zod";
import type { Policy, Target } from "./admin.ts";
import type { Api } from "./api.ts";
import type { S3Config } from "./config.ts";
import type { FileOut } from "./upload.ts";
import { check } from "./walk.ts";

const storageCheckSchema = z.object({
  file: z.object({ id: z.string(), storage_key: z.string(), location: z.string().nullable() }),
  policy: z.object({ id: z.string(), driver: z.string(), node_id: z.string().nullable() }),
  object: z.object({ exists: z.boolean(), size: z.number().nullable(), sha256: z.string().nullable() }),
});
export type StorageCheck = z.infer<typeof storageCheckSchema>;

export async function storageCheck(
  admin: Api,
  file: FileOut,
  policy: Policy,
  target: Target,
): Promise<StorageCheck> {
  const found = await admin.json("GET", `/api/v1/admin/files/${file.id}/storage`, storageCheckSchema);
  check(
    found.policy.id === policy.id && found.policy.driver === "remote",
    `stored with policy ${found.policy.id}`,
  );
  check(found.file.location === target.key, `location ${found.file.location}, expected target ${target.key}`);
  check(found.object.exists, "the follower has no such object");
  check(found.object.size === file.size, `object size ${found.object.size}, expected ${file.size}`);
  if (found.object.sha256 !== null) check(found.object.sha256 === file.sha256, "object sha256 differs");
  return found;
}

/** The object's key on the follower: the policy's key prefix, then the file's storage key. */
const objectKey = (policy: Policy, found: StorageCheck) =>
  [policy.key_prefix, found.file.storage_key].filter(Boolean).join("/");

async function fileSha256(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** The file under `<managed_ingress_local_root>/<base_path>/<key>`, same size and SHA-256. */
export async function inIngressDir(
  root: string,
  target: Target,
  policy: Policy,
  found: StorageCheck,
  file: FileOut,
) {
  const path = join(root, target.base_path, objectKey(policy, found));
  const info = await stat(path).catch(() => null);
  check(info?.isFile() === true, `${path} does not exist`);
  check(info.size === file.size, `${path} has ${info.size} bytes, expected ${file.size}`);
  check((await fileSha256(path)) === file.sha256, `${path} has other bytes (sha256)`);
  return path;
}

export async function goneFromIngressDir(
  root: string,
  target: Target,
  policy: Policy,
  storageKey: string,
): Promise<void> {
  const path = join(root, target.base_path, [policy.key_prefix, storageKey].filter(Boolean).join("/"));
  check((await stat(path).catch(() => null)) === null, `${path} is still there after the purge`);
}

function s3ObjectUrl(s3: S3Config, key: string): string {
  const endpoint = new URL(s3.endpoint);
  const path = [s3.basePath, key].filter(Boolean).join("/").split("/").map(encodeURIComponent).join("/");
  const base = endpoint.pathname.replace(/\/+$/, "");
  return s3.pathStyle
    ? `${endpoint.origin}${base}/${s3.bucket}/${path}`
    : `${endpoint.protocol}//${s3.bucket}.${endpoint.host}${base}/${path}`;
}

/** A signed HEAD on the bucket, with the walk's own S3 credentials. */
export async function inBucket(
  s3: S3Config,
  policy: Policy,
  found: StorageCheck,
  file: FileOut,
): Promise<string> {
  const client = new AwsClient({
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
    region: s3.region,
    service: "s3",
  });
  const url = s3ObjectUrl(s3, objectKey(policy, found));
  const response = await client.fetch(url, { method: "HEAD" });
  check(response.status === 200, `HEAD ${url} answered ${response.status}`);
  check(
    Number(response.headers.get("content-length")) === file.size,
    `bucket object has ${response.headers.get("content-length")} bytes`,
  );
  return `s3://${s3.bucket}/${[s3.basePath, objectKey(policy, found)].filter(Boolean).join("/")}`;
}

export async function goneFromBucket(s3: S3Config, policy: Policy, storageKey: string): Promise<void> {
  const client = new AwsClient({
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
    region: s3.region,
    service: "s3",
  });
  const url = s3ObjectUrl(s3, [policy.key_prefix, storageKey].filter(Boolean).join("/"));
  const response = await client.fetch(url, { method: "HEAD" });
  check(response.status === 404, `HEAD ${url} answered ${response.status} after the purge, expected 404`);
}
