// Owns s3rver in process for tests (127.0.0.1, port 0, a temp dir of its own): one start for every
// suite, one key. Each start returns its own stop.
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
type S3rverCtor = new (options: Record<string, unknown>) => S3rverInstance;

/** s3rver's fixed credentials; it checks the key id (refusing others) but does not verify signatures. */
export const S3RVER_KEY = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };

/** The same key as protocol v2's ingress targets and the agent's S3 settings spell it. */
export const S3RVER_WIRE_KEY = {
  access_key_id: S3RVER_KEY.accessKeyId,
  secret_access_key: S3RVER_KEY.secretAccessKey,
};

export interface S3rver {
  endpoint: string;
  /** Where s3rver keeps its buckets (objects are files below it). */
  directory: string;
  stop(): Promise<void>;
}

export async function startS3rver(buckets: string[]): Promise<S3rver> {
  const directory = await mkdtemp(join(tmpdir(), "flotilla-s3rver-"));
  const S3rver = createRequire(import.meta.url)("s3rver") as S3rverCtor;
  const server = new S3rver({
    address: "127.0.0.1",
    port: 0,
    silent: true,
    directory,
    configureBuckets: buckets.map((name) => ({ name })),
  });
  const address = await server.run();
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    directory,
    async stop() {
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

interface S3rverAccount {
  createKeyPair(accessKeyId: string, secretAccessKey: string): void;
  revokeAccessKey(accessKeyId: string): void;
}

/**
 * The access keys s3rver accepts (one registry per process, so for every s3rver started in it): a
 * key can be issued and revoked, as an S3 admin rotating credentials would.
 */
export function s3rverKeys() {
  const account = (
    createRequire(import.meta.url)("s3rver/lib/models/account.js") as { DUMMY_ACCOUNT: S3rverAccount }
  ).DUMMY_ACCOUNT;
  return {
    issue: (accessKeyId: string, secretAccessKey: string) =>
      account.createKeyPair(accessKeyId, secretAccessKey),
    revoke: (accessKeyId: string) => account.revokeAccessKey(accessKeyId),
  };
}
