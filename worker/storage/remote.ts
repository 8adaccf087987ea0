// Owns the `remote` storage driver: a follower agent reached through protocol v2 with the shared,
// signed client. Bytes are metered on the way out (length and digest refused before the last byte
// leaves; the PUT opens only once the first checked bytes are there, streams.ts firstBytesReady, so a
// body that fails before them leaves the follower nothing) and the agent's own digest of what landed must match: end-to-end integrity. Multipart parts
// are composed on the agent, never in the primary's memory; copies are made on the agent too. A
// follower that pulls fetches objects from a URL itself (moves between storages).
import { AppError, type ErrorCode, errorStatus } from "../../shared/errors.ts";
import type { FollowerClient } from "../../shared/protocol/client.ts";
import type { PullStatus } from "../../shared/protocol/schemas.ts";
import {
  assertEmptyDigest,
  assertObjectKey,
  firstBytesReady,
  type Metered,
  meter,
  resolveRange,
  withKnownLength,
} from "./streams.ts";
import type { CompletedPart, ObjectInfo, PullState, StorageDriver } from "./types.ts";

export interface RemoteDriverOptions {
  /** Ingress target to read from and write to; undefined = the follower's current default target. */
  target?: string;
  /** The follower copies objects itself (capability `copy` in its last good probe). */
  copy?: boolean;
  /** The follower said it pulls (capabilities features.pull): offer startPull and its companions. */
  pulls?: boolean;
}

export function createRemoteDriver(client: FollowerClient, options: RemoteDriverOptions = {}): StorageDriver {
  const target = options.target;
  const at = target === undefined ? {} : { target };
  const missing = (error: unknown) => error instanceof AppError && error.code === "object_not_found";

  const driver: StorageDriver = {
    kind: "remote",
    limits: { minPartSize: 1, maxParts: 10_000 },

    async put(key, body, o) {
      assertObjectKey(key);
      assertEmptyDigest(o.size, o.sha256);
      const metered = meter(body, o.size, o.sha256);
      // The request opens only once the first checked bytes are there (a body refused before them
      // opens none); its digest and length are still checked to the last byte.
      const outgoing = withKnownLength(await firstBytesReady(metered.stream), o.size);
      const info = await sending(metered, outgoing, () =>
        client.putObject(key, outgoing, {
          size: o.size,
          bodySent: metered.done,
          ...at,
          ...(o.sha256 ? { sha256: o.sha256 } : {}),
          ...(o.contentType ? { contentType: o.contentType } : {}),
        }),
      );
      await checkLanded(metered, info, () => client.deleteObject(key, { target: info.target }));
      return { size: info.size, sha256: info.sha256, etag: info.etag, location: info.target };
    },

    async head(key) {
      assertObjectKey(key);
      const head = await client.headObject(key, at);
      if (!head) return null;
      return {
        key,
        size: head.size,
        etag: head.etag ?? '""',
        contentType: head.contentType,
        sha256: head.sha256,
      } satisfies ObjectInfo;
    },

    async get(key, o = {}) {
      assertObjectKey(key);
      // Resolved here against the real size so every driver answers ranges identically.
      const info = o.range ? await driver.head(key) : null;
      if (o.range && !info) return null;
      const range = o.range && info ? resolveRange(o.range, info.size) : null;
      let response: Response;
      try {
        response = await client.getObject(key, {
          ...at,
          signal: o.signal,
          ...(range ? { range: `bytes=${range.offset}-${range.offset + range.length - 1}` } : {}),
          ...(info?.etag ? { ifRange: info.etag } : {}),
        });
      } catch (error) {
        if (missing(error)) return null;
        throw error;
      }
      if (range && response.status !== 206) {
        await response.body?.cancel();
        throw new AppError("storage_unavailable", "The object changed while it was being read.");
      }
      const etag = response.headers.get("etag") ?? '""';
      const size = info?.size ?? Number(response.headers.get("content-length") ?? "0");
      return {
        key,
        size,
        etag,
        contentType: response.headers.get("content-type"),
        sha256: /^"([0-9a-f]{64})"$/.exec(etag)?.[1] ?? null,
        range,
        body: response.body ?? new ReadableStream<Uint8Array>({ start: (c) => c.close() }),
      };
    },

    async delete(key) {
      assertObjectKey(key);
      await client.deleteObject(key, at);
    },

    async createMultipart(key, o = {}) {
      assertObjectKey(key);
      const session = await client.createMultipart({
        key,
        content_type: o.contentType ?? null,
        ...(o.partSize !== undefined ? { part_size: o.partSize } : {}),
        ...at,
      });
      return { uploadId: session.upload_id };
    },

    async putPart(_key, uploadId, partNumber, body, o) {
      assertEmptyDigest(o.size, o.sha256);
      const metered = meter(body, o.size, o.sha256);
      const outgoing = withKnownLength(await firstBytesReady(metered.stream), o.size);
      const part = await sending(metered, outgoing, () =>
        client.putPart(uploadId, partNumber, outgoing, {
          size: o.size,
          bodySent: metered.done,
          ...(o.sha256 ? { sha256: o.sha256 } : {}),
        }),
      );
      await checkLanded(metered, part, async () => {});
      return { partNumber: part.part_number, etag: part.etag, size: part.size, sha256: part.sha256 };
    },

    async completeMultipart(_key, uploadId, parts) {
      const info = await client.completeMultipart(uploadId, { parts: partDigests(parts) });
      return { size: info.size, etag: info.etag, sha256: info.sha256, location: info.target };
    },

    async completeMultipartVerified(_key, uploadId, parts, expected) {
      const info = await client.completeMultipart(uploadId, {
        parts: partDigests(parts),
        size: expected.size,
        ...(expected.sha256 ? { sha256: expected.sha256 } : {}),
      });
      return { size: info.size, etag: info.etag, sha256: info.sha256, location: info.target };
    },

    async listParts(_key, uploadId) {
      return (await client.listParts(uploadId)).map((p) => ({
        partNumber: p.part_number,
        etag: p.etag,
        size: p.size,
        sha256: p.sha256,
      }));
    },

    async abortMultipart(_key, uploadId) {
      await client.abortMultipart(uploadId);
    },

    async presign(request) {
      assertObjectKey(request.key);
      const expiresInSeconds = Math.max(1, Math.min(Math.floor(request.expiresIn), 3600));
      let url: Awaited<ReturnType<FollowerClient["presignGet"]>>;
      if (request.method === "GET") {
        url = await client.presignGet({
          key: request.key,
          expiresInSeconds,
          ...at,
          ...(request.responseContentType ? { responseContentType: request.responseContentType } : {}),
          ...(request.responseContentDisposition
            ? { responseContentDisposition: request.responseContentDisposition }
            : {}),
        });
      } else if (request.part) {
        url = await client.presignPart({
          uploadId: request.part.uploadId,
          partNumber: request.part.partNumber,
          size: request.size ?? 0,
          expiresInSeconds,
          ...(request.sha256 ? { sha256: request.sha256 } : {}),
        });
      } else {
        url = await client.presignPut({
          key: request.key,
          size: request.size ?? 0,
          contentType: request.contentType ?? "application/octet-stream",
          expiresInSeconds,
          ...at,
          ...(request.sha256 ? { sha256: request.sha256 } : {}),
        });
      }
      return { url: url.url, method: url.method, headers: url.headers, expiresAt: new Date(url.expiresAt) };
    },
  };
  if (options.copy) {
    driver.copy = async (sourceKey, key, o) => {
      assertObjectKey(sourceKey);
      assertObjectKey(key);
      const info = await client.copyObject({
        source: { key: sourceKey, ...(o.sourceLocation ? { target: o.sourceLocation } : {}) },
        key,
        ...at,
        size: o.size,
        sha256: o.sha256,
      });
      if (info.size !== o.size || info.sha256 !== o.sha256) {
        await client.deleteObject(key, { target: info.target }).catch(() => {});
        throw new AppError("storage_unavailable", "The follower's copy differs from its source.");
      }
      return { size: info.size, sha256: info.sha256, etag: info.etag, location: info.target };
    };
  }
  if (options.pulls) {
    driver.startPull = async (key, input) => {
      assertObjectKey(key);
      const status = await client.startPull({
        pull_id: input.id,
        key,
        ...at,
        source_url: input.url,
        size: input.size,
        sha256: input.sha256,
        ...(input.contentType ? { content_type: input.contentType } : {}),
      });
      return pullState(status);
    };
    driver.pullState = async (id) => pullState(await client.pullStatus(id));
    driver.cancelPull = (id) => client.cancelPull(id);
  }
  return driver;
}

/** The agent's pull status as the driver reports it; its failure as the AppError it names. */
function pullState(status: PullStatus): PullState {
  const object = status.object;
  const failure = status.error;
  let error: AppError | null = null;
  if (failure) {
    const known = failure.code in errorStatus ? (failure.code as ErrorCode) : null;
    error = new AppError(known ?? "follower_error", failure.message, {
      details: { follower_code: failure.code, source_status: failure.source_status },
    });
  }
  return {
    id: status.pull_id,
    state: status.state,
    receivedBytes: status.received_bytes,
    result: object
      ? { size: object.size, sha256: object.sha256, etag: object.etag, location: object.target }
      : null,
    error,
  };
}

/**
 * The parts to compose, in order, each named by its digest where known: a part's own SHA-256, or the
 * quoted SHA-256 this driver answers as its ETag. The agent re-checks each one.
 */
function partDigests(parts: CompletedPart[]): { part_number: number; sha256?: string }[] {
  return [...parts]
    .sort((a, b) => a.partNumber - b.partNumber)
    .map((p) => {
      const sha256 = p.sha256 ?? /^"?([0-9a-f]{64})"?$/.exec(p.etag)?.[1];
      return sha256 ? { part_number: p.partNumber, sha256 } : { part_number: p.partNumber };
    });
}

/** When our meter stopped the body, its precise refusal beats the transport's generic one. */
async function sending<T>(
  metered: Metered,
  outgoing: ReadableStream<Uint8Array>,
  send: () => Promise<T>,
): Promise<T> {
  try {
    return await send();
  } catch (error) {
    // A transport that failed before reading (follower down) may leave the body unread, and then the
    // meter never settles: cancel it (ignored when the transport still holds it), and never wait long.
    await outgoing.cancel(error).catch(() => {});
    const meterError = await Promise.race([
      metered.done.then(
        () => null,
        (e: unknown) => e,
      ),
      new Promise<null>((resolve) => setTimeout(() => resolve(null), 50)),
    ]);
    throw meterError instanceof AppError ? meterError : error;
  }
}

/**
 * The digest the agent computed where the bytes landed must equal the one computed as they left;
 * otherwise the landed copy is removed (best effort) and the write refused. A part that differs is
 * simply never composed: completion names each part's digest.
 */
async function checkLanded(
  metered: Metered,
  landed: { size: number; sha256: string },
  discard: () => Promise<void>,
): Promise<void> {
  const sent = await metered.done;
  if (sent.size !== landed.size || sent.sha256 !== landed.sha256) {
    await discard().catch(() => {});
    throw new AppError("storage_unavailable", "The follower stored different bytes than were sent.", {
      details: { sent_sha256: sent.sha256, landed_sha256: landed.sha256 },
    });
  }
}
