// Owns s3rver in process for storage tests (port 0, temp dir) and the byte-stream helpers the
// conformance suite uses. Each start returns its own stop.
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

/** s3rver's fixed credentials; it checks the key id but does not verify SigV4 signatures. */
export const S3RVER_KEY = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };

export async function startS3rver(buckets: string[]) {
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

/** Deterministic pseudo-random bytes, so failures reproduce. */
export function bytesOf(length: number, seed = 1): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(length);
  let x = seed * 2654435761;
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** A stream yielding `data` in `chunk`-sized pieces, never as one buffer. */
export function streamOf(data: Uint8Array, chunk = 64 * 1024): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (offset >= data.length) return controller.close();
      controller.enqueue(data.slice(offset, offset + chunk));
      offset += chunk;
    },
  });
}

export async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}
