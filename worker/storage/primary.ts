// Owns the `primary` storage driver: the primary's own store, the R2 binding `FILES` (persisted on
// disk by Miniflare in local mode). R2 verifies declared SHA-256 digests itself before committing.
import type { R2Bucket, R2Object, ReadableStream as WorkersReadableStream } from "@cloudflare/workers-types";
import { toHex } from "../../shared/crypto.ts";
import { AppError } from "../../shared/errors.ts";
import {
  assertEmptyDigest,
  assertObjectKey,
  digestMismatch,
  meter,
  resolveRange,
  withKnownLength,
} from "./streams.ts";
import type { ObjectInfo, StorageDriver } from "./types.ts";

export function createPrimaryDriver(bucket: R2Bucket): StorageDriver {
  const call = async <T>(
    operation: string,
    run: () => Promise<T>,
    metered?: Promise<unknown>,
  ): Promise<T> => {
    try {
      return await run();
    } catch (cause) {
      if (cause instanceof AppError) throw cause;
      // When our meter stopped the body, its precise refusal beats the store's generic one.
      const meterError = await metered?.then(
        () => null,
        (e: unknown) => e,
      );
      if (meterError instanceof AppError) throw meterError;
      if (isDigestError(cause)) throw digestMismatch();
      throw new AppError("storage_unavailable", "The primary store failed.", {
        cause,
        details: { operation },
      });
    }
  };

  const driver: StorageDriver = {
    kind: "primary",
    limits: { minPartSize: 5 * 1024 * 1024, maxParts: 10_000 },

    async put(key, body, options) {
      assertObjectKey(key);
      assertEmptyDigest(options.size, options.sha256);
      const metered = meter(body, options.size, options.sha256);
      const stored = await call(
        "put",
        () =>
          bucket.put(key, asWorkersStream(withKnownLength(metered.stream, options.size)), {
            httpMetadata: { contentType: options.contentType ?? "application/octet-stream" },
            ...(options.sha256 ? { sha256: options.sha256 } : {}),
          }),
        metered.done,
      );
      const digest = await call("put", () => metered.done);
      return { size: digest.size, sha256: digest.sha256, etag: stored.httpEtag, location: null };
    },

    async head(key) {
      assertObjectKey(key);
      const object = await call("head", () => bucket.head(key));
      return object ? infoFrom(object) : null;
    },

    async get(key, options = {}) {
      assertObjectKey(key);
      let range = null;
      if (options.range) {
        const info = await driver.head(key);
        if (!info) return null;
        range = resolveRange(options.range, info.size);
      }
      const object = await call("get", () => bucket.get(key, range ? { range } : {}));
      if (!object) return null;
      return { ...infoFrom(object), range, body: object.body as unknown as ReadableStream<Uint8Array> };
    },

    async delete(key) {
      assertObjectKey(key);
      await call("delete", () => bucket.delete(key));
    },

    async createMultipart(key, options = {}) {
      assertObjectKey(key);
      const upload = await call("create_multipart", () =>
        bucket.createMultipartUpload(key, {
          httpMetadata: { contentType: options.contentType ?? "application/octet-stream" },
        }),
      );
      return { uploadId: upload.uploadId };
    },

    async putPart(key, uploadId, partNumber, body, options) {
      assertObjectKey(key);
      assertEmptyDigest(options.size, options.sha256);
      const metered = meter(body, options.size, options.sha256);
      const upload = bucket.resumeMultipartUpload(key, uploadId);
      const part = await call(
        "put_part",
        () => upload.uploadPart(partNumber, asWorkersStream(withKnownLength(metered.stream, options.size))),
        metered.done,
      );
      const digest = await call("put_part", () => metered.done);
      return { partNumber, etag: part.etag, size: digest.size, sha256: digest.sha256 };
    },

    async completeMultipart(key, uploadId, parts) {
      assertObjectKey(key);
      const sorted = [...parts]
        .sort((a, b) => a.partNumber - b.partNumber)
        .map((p) => ({ partNumber: p.partNumber, etag: p.etag }));
      const upload = bucket.resumeMultipartUpload(key, uploadId);
      const object = await call("complete_multipart", () => upload.complete(sorted));
      return { size: object.size, etag: object.httpEtag, sha256: null, location: null };
    },

    async abortMultipart(key, uploadId) {
      assertObjectKey(key);
      await call("abort_multipart", () => bucket.resumeMultipartUpload(key, uploadId).abort());
    },
  };
  return driver;
}

function infoFrom(object: R2Object): ObjectInfo {
  const sha = object.checksums.sha256;
  return {
    key: object.key,
    size: object.size,
    etag: object.httpEtag,
    contentType: object.httpMetadata?.contentType ?? null,
    sha256: sha ? toHex(new Uint8Array(sha)) : null,
  };
}

/** The DOM and workers-types declare ReadableStream separately; at runtime they are the same object. */
function asWorkersStream(stream: ReadableStream<Uint8Array>): WorkersReadableStream {
  return stream as unknown as WorkersReadableStream;
}

function isDigestError(cause: unknown): boolean {
  return cause instanceof Error && /sha-?256|checksum|digest/i.test(cause.message);
}
