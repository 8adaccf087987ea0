// Owns the `s3` storage driver: any S3-compatible store (AWS, R2's S3 API, MinIO, s3rver) through
// aws4fetch SigV4, virtual-hosted or path-style. Bodies stream through a meter; nothing is buffered.
import { AwsClient } from "aws4fetch";
import { AppError } from "../../shared/errors.ts";
import {
  completeMultipartXml,
  encodeKey,
  quoteEtag,
  s3Failure,
  unreachable,
  xmlField,
} from "../../shared/s3-wire.ts";
import {
  assertEmptyDigest,
  assertObjectKey,
  firstBytesReady,
  meter,
  resolveRange,
  withKnownLength,
} from "./streams.ts";
import { type ObjectInfo, type PresignRequest, STORAGE_TIMEOUTS, type StorageDriver } from "./types.ts";

export interface S3Config {
  /** Origin of the S3 API, e.g. https://s3.eu-central-1.amazonaws.com or http://127.0.0.1:9000. */
  endpoint: string;
  region: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** true: {endpoint}/{bucket}/{key}; false: {bucket}.{endpoint host}/{key}. */
  pathStyle: boolean;
}

const MAX_PRESIGN_SECONDS = 3600;

export interface S3Deps {
  fetch?: typeof fetch;
  /** Longest wait for the answer's headers to a request without a body to carry (default 30 s). */
  timeoutMs?: number;
  /** The same after a streamed body or a multipart composition (default 10 min). */
  longTimeoutMs?: number;
}

export function createS3Driver(config: S3Config, deps: S3Deps = {}): StorageDriver {
  const fetcher = deps.fetch ?? fetch;
  const timeouts = {
    short: deps.timeoutMs ?? STORAGE_TIMEOUTS.answerMs,
    long: deps.longTimeoutMs ?? STORAGE_TIMEOUTS.longWorkMs,
  };
  const aws = new AwsClient({
    accessKeyId: config.accessKeyId,
    secretAccessKey: config.secretAccessKey,
    service: "s3",
    region: config.region,
    retries: 0,
  });
  const base = new URL(config.endpoint);
  const origin = config.pathStyle
    ? `${base.origin}/${encodeURIComponent(config.bucket)}`
    : `${base.protocol}//${config.bucket}.${base.host}`;

  const urlFor = (key: string, query: Record<string, string> = {}) => {
    assertObjectKey(key);
    const url = new URL(`${origin}/${encodeKey(key)}`);
    for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
    return url;
  };

  // A store that accepts connections but never answers would otherwise hold the request (a purge, a
  // download, the scheduled retries) forever. The timer stops once the headers are in: a body streams
  // as long as it takes. Uploads (PUT of a body) are not timed: the client paces their body.
  const send = async (
    url: URL,
    init: RequestInit & { aws?: { signQuery?: boolean } },
    wait: keyof typeof timeouts | "untimed" = "short",
    /** The caller's: its client went away. */
    caller?: AbortSignal,
  ) => {
    const controller = new AbortController();
    const timer = wait === "untimed" ? undefined : setTimeout(() => controller.abort(), timeouts[wait]);
    const signal = caller ? AbortSignal.any([controller.signal, caller]) : controller.signal;
    try {
      return await fetcher(await aws.sign(url.toString(), { ...init, signal }));
    } catch (cause) {
      // A body that failed our meter surfaces here as the fetch's cause; keep its precise code.
      if (cause instanceof AppError) throw cause;
      if (cause instanceof Error && cause.cause instanceof AppError) throw cause.cause;
      if (caller?.aborted) {
        throw new AppError("client_closed_request", "The client went away before the store answered.", {
          cause,
        });
      }
      if (controller.signal.aborted) {
        throw new AppError("storage_unavailable", "The object store did not answer in time.", {
          cause,
          details: { timeout_ms: wait === "untimed" ? null : timeouts[wait] },
        });
      }
      throw unreachable(cause);
    } finally {
      clearTimeout(timer);
    }
  };

  const streamingPut = async (
    url: URL,
    body: ReadableStream<Uint8Array>,
    size: number,
    headers: Record<string, string>,
    expected: string | undefined,
    operation: string,
  ) => {
    assertEmptyDigest(size, expected);
    const metered = meter(body, size, expected);
    const checked = await firstBytesReady(metered.stream);
    const response = await send(
      url,
      {
        method: "PUT",
        body: withKnownLength(checked, size),
        headers: {
          ...headers,
          "content-length": String(size),
          // A declared digest lets the store itself refuse a mismatch before committing.
          "x-amz-content-sha256": expected ?? "UNSIGNED-PAYLOAD",
        },
        duplex: "half",
      } as RequestInit,
      "long",
    ).catch(async (error: unknown) => {
      // When our meter stopped the body, its precise refusal beats the transport's generic one.
      throw (
        (await metered.done.then(
          () => null,
          (meterError: unknown) => (meterError instanceof AppError ? meterError : null),
        )) ?? error
      );
    });
    if (!response.ok) {
      await metered.done.catch(() => {});
      throw await s3Failure(response, operation);
    }
    await response.body?.cancel();
    return { digest: await metered.done, etag: quoteEtag(response.headers.get("etag")) };
  };

  const driver: StorageDriver = {
    kind: "s3",
    limits: { minPartSize: 5 * 1024 * 1024, maxParts: 10_000 },

    async put(key, body, options) {
      const url = urlFor(key);
      const headers: Record<string, string> = {
        "content-type": options.contentType ?? "application/octet-stream",
      };
      if (options.sha256) headers["x-amz-meta-sha256"] = options.sha256;
      const { digest, etag } = await streamingPut(url, body, options.size, headers, options.sha256, "put");
      return { size: digest.size, sha256: digest.sha256, etag, location: null };
    },

    async head(key) {
      const response = await send(urlFor(key), { method: "HEAD" });
      if (response.status === 404) return null;
      if (!response.ok) throw await s3Failure(response, "head");
      return infoFrom(key, response.headers);
    },

    async get(key, options = {}) {
      let range = null;
      let total: number | null = null;
      const headers: Record<string, string> = {};
      if (options.range) {
        // Resolve against the real size first so every backend answers ranges identically (RFC 9110).
        const info = await driver.head(key);
        if (!info) return null;
        total = info.size;
        range = resolveRange(options.range, info.size);
        headers.range = `bytes=${range.offset}-${range.offset + range.length - 1}`;
        headers["if-match"] = info.etag;
      }
      const response = await send(urlFor(key), { method: "GET", headers }, "short", options.signal);
      if (response.status === 404) return null;
      if (!response.ok) throw await s3Failure(response, "get");
      const info = infoFrom(key, response.headers);
      return { ...info, size: total ?? info.size, range, body: response.body ?? new ReadableStream() };
    },

    async delete(key) {
      const response = await send(urlFor(key), { method: "DELETE" });
      if (!response.ok && response.status !== 404) throw await s3Failure(response, "delete");
      await response.body?.cancel();
    },

    async createMultipart(key, options = {}) {
      const response = await send(urlFor(key, { uploads: "" }), {
        method: "POST",
        headers: { "content-type": options.contentType ?? "application/octet-stream" },
      });
      if (!response.ok) throw await s3Failure(response, "create_multipart");
      const uploadId = xmlField(await response.text(), "UploadId");
      if (!uploadId) throw new AppError("storage_unavailable", "The object store returned no upload id.");
      return { uploadId };
    },

    async putPart(key, uploadId, partNumber, body, options) {
      const url = urlFor(key, { partNumber: String(partNumber), uploadId });
      const { digest, etag } = await streamingPut(url, body, options.size, {}, options.sha256, "put_part");
      return { partNumber, etag, size: digest.size, sha256: digest.sha256 };
    },

    async completeMultipart(key, uploadId, parts) {
      const sorted = [...parts].sort((a, b) => a.partNumber - b.partNumber);
      const xml = completeMultipartXml(sorted);
      const response = await send(
        urlFor(key, { uploadId }),
        { method: "POST", body: xml, headers: { "content-type": "application/xml" } },
        "long",
      );
      if (!response.ok) throw await s3Failure(response, "complete_multipart");
      // S3 may report a failed completion inside a 200 response.
      const text = await response.text();
      if (xmlField(text, "Code") !== null) {
        throw await s3Failure(new Response(text, { status: 502 }), "complete_multipart");
      }
      const info = await driver.head(key);
      if (!info) throw new AppError("storage_unavailable", "The completed object is not visible yet.");
      return { size: info.size, etag: info.etag, sha256: null, location: null };
    },

    async abortMultipart(key, uploadId) {
      const response = await send(urlFor(key, { uploadId }), { method: "DELETE" });
      if (!response.ok && response.status !== 404) throw await s3Failure(response, "abort_multipart");
      await response.body?.cancel();
    },

    async presign(request: PresignRequest) {
      const seconds = Math.max(1, Math.min(Math.floor(request.expiresIn), MAX_PRESIGN_SECONDS));
      const query: Record<string, string> = { "X-Amz-Expires": String(seconds) };
      const headers: Record<string, string> = {};
      if (request.part) {
        query.partNumber = String(request.part.partNumber);
        query.uploadId = request.part.uploadId;
      }
      if (request.method === "GET") {
        if (request.responseContentType) query["response-content-type"] = request.responseContentType;
        if (request.responseContentDisposition) {
          query["response-content-disposition"] = request.responseContentDisposition;
        }
      } else {
        if (request.contentType) headers["content-type"] = request.contentType;
        if (request.size !== undefined) headers["content-length"] = String(request.size);
      }
      const url = urlFor(request.key, query);
      const signed = await aws.sign(url.toString(), {
        method: request.method,
        headers,
        aws: { signQuery: true, allHeaders: true },
      });
      const browserHeaders = { ...headers };
      delete browserHeaders["content-length"];
      return {
        url: signed.url,
        method: request.method,
        headers: browserHeaders,
        expiresAt: new Date(Date.now() + seconds * 1000),
      };
    },
  };
  return driver;
}

function infoFrom(key: string, headers: Headers): ObjectInfo {
  return {
    key,
    size: Number(headers.get("content-length") ?? 0),
    etag: quoteEtag(headers.get("etag")),
    contentType: headers.get("content-type"),
    sha256: headers.get("x-amz-meta-sha256"),
  };
}
