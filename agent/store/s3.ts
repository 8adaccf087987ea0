// Owns the S3 ingress target (any S3-compatible store, through aws4fetch). Objects up to one part are
// buffered (bounded), checked, then written with one PUT; larger ones go through S3 multipart and are
// completed only after size and SHA-256 check out, otherwise aborted: nothing partial is ever visible.
// Digest and type live in a sidecar .flotilla/meta/<key>.json that names the object's S3 ETag, so a
// stale sidecar is never trusted.
import { randomBytes } from "node:crypto";
import { AwsClient } from "aws4fetch";
import { AppError } from "../../shared/errors.ts";
import { keyProblem } from "../../shared/protocol/keys.ts";
import {
  type S3TargetSpec,
  type StorageRefusal,
  storageRefusalSchema,
} from "../../shared/protocol/schemas.ts";
import { completeMultipartXml, encodeKey, xmlField } from "../../shared/s3-wire.ts";
import { checkDigest, metered } from "./metered.ts";
import type { ObjectHandle, PutOptions, TargetStore } from "./types.ts";

/** S3 part size for large objects: also the most memory one upload holds. */
export const S3_PART_BYTES = 8 * 1024 * 1024;

interface Meta {
  size: number;
  sha256: string;
  content_type: string | null;
  etag: string | null;
}

function concat(chunks: Uint8Array[], total: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/**
 * The S3 error code of a refusal, for the primary to tell configuration from upload refusals. A HEAD
 * answer has no body to name it; S3 documents its 403 as plain Forbidden, which is always about
 * access (credentials or policy), so that one is AccessDenied.
 */
function s3CodeOf(status: number, text: string): string | null {
  const code = xmlField(text, "Code");
  if (code !== null) return storageRefusalSchema.shape.s3_code.safeParse(code).success ? code : null;
  return status === 403 && text === "" ? "AccessDenied" : null;
}

export function createS3Store(spec: S3TargetSpec, fetchImpl: typeof fetch = fetch): TargetStore {
  const prefix = spec.prefix.replace(/^\/+|\/+$/g, "");
  const aws = new AwsClient({
    accessKeyId: spec.access_key_id,
    secretAccessKey: spec.secret_access_key,
    service: "s3",
    region: spec.region,
    retries: 0,
  });
  const endpoint = new URL(spec.endpoint);
  const basePath = endpoint.pathname.replace(/\/+$/, "");

  function url(key: string, query = ""): string {
    const full = [prefix, key].filter(Boolean).join("/");
    const encoded = encodeKey(full);
    const tail = encoded ? `/${encoded}` : "/";
    if (spec.path_style) return `${endpoint.origin}${basePath}/${spec.bucket}${encoded ? tail : ""}${query}`;
    return `${endpoint.protocol}//${spec.bucket}.${endpoint.host}${basePath}${tail}${query}`;
  }

  function bucketUrl(): string {
    if (spec.path_style) return `${endpoint.origin}${basePath}/${spec.bucket}`;
    return `${endpoint.protocol}//${spec.bucket}.${endpoint.host}${basePath}/`;
  }

  async function call(target: string, init: RequestInit & { duplex?: "half" } = {}): Promise<Response> {
    let response: Response;
    try {
      response = await fetchImpl(await aws.sign(target, init));
    } catch (cause) {
      throw new AppError("storage_unavailable", "The S3 endpoint could not be reached.", { cause });
    }
    return response;
  }

  async function expectOk(response: Response, what: string): Promise<Response> {
    if (response.ok) return response;
    const text = await response.text().catch(() => "");
    const s3Code = s3CodeOf(response.status, text);
    const message = `S3 refused to ${what} (HTTP ${response.status}${s3Code ? ` ${s3Code}` : ""}).`;
    const details: StorageRefusal | undefined = s3Code ? { s3_code: s3Code } : undefined;
    throw new AppError(response.status >= 500 ? "storage_unavailable" : "storage_rejected", message, {
      details,
    });
  }

  const metaKey = (key: string) => `.flotilla/meta/${key}.json`;

  async function writeMeta(key: string, meta: Meta): Promise<void> {
    const body = JSON.stringify(meta);
    await expectOk(
      await call(url(metaKey(key)), { method: "PUT", body, headers: { "content-type": "application/json" } }),
      "store object metadata",
    );
  }

  async function readMeta(key: string): Promise<Meta | null> {
    const response = await call(url(metaKey(key)));
    if (!response.ok) {
      await response.body?.cancel();
      return null;
    }
    try {
      return (await response.json()) as Meta;
    } catch {
      return null;
    }
  }

  async function putMultipart(
    key: string,
    first: Uint8Array<ArrayBuffer>,
    rest: AsyncIterator<Uint8Array>,
    options: PutOptions,
    digest: () => string,
  ): Promise<string | null> {
    const headers: Record<string, string> = {};
    if (options.contentType) headers["content-type"] = options.contentType;
    const created = await expectOk(
      await call(url(key, "?uploads"), { method: "POST", headers }),
      "start an upload",
    );
    const uploadId = xmlField(await created.text(), "UploadId");
    if (!uploadId) throw new AppError("storage_unavailable", "S3 did not return an upload id.");
    const q = `uploadId=${encodeURIComponent(uploadId)}`;
    const etags: string[] = [];
    const uploadPart = async (body: Uint8Array<ArrayBuffer>) => {
      const n = etags.length + 1;
      const response = await expectOk(
        await call(url(key, `?partNumber=${n}&${q}`), { method: "PUT", body }),
        "store a part",
      );
      etags.push(response.headers.get("etag") ?? "");
    };
    try {
      let pending: Uint8Array[] = [first];
      let buffered = first.byteLength;
      for (;;) {
        const next = await rest.next();
        if (!next.done) {
          pending.push(next.value);
          buffered += next.value.byteLength;
        }
        while (buffered >= S3_PART_BYTES || (next.done && buffered > 0)) {
          const all = concat(pending, buffered);
          const take = Math.min(S3_PART_BYTES, buffered);
          await uploadPart(all.slice(0, take));
          pending = take < buffered ? [all.slice(take)] : [];
          buffered -= take;
        }
        if (next.done) break;
      }
      checkDigest(digest(), options.sha256);
      const xml = completeMultipartXml(etags.map((etag, i) => ({ partNumber: i + 1, etag })));
      const done = await expectOk(
        await call(url(key, `?${q}`), { method: "POST", body: xml }),
        "complete an upload",
      );
      const text = await done.text();
      // S3 may report a failed completion inside a 200 response.
      if (xmlField(text, "Code") !== null)
        throw new AppError("storage_unavailable", "S3 failed to complete the upload.");
      return xmlField(text, "ETag") || null;
    } catch (error) {
      await call(url(key, `?${q}`), { method: "DELETE" }).then(
        (r) => r.body?.cancel(),
        () => undefined,
      );
      throw error;
    }
  }

  return {
    async apply() {
      const problem = prefix ? keyProblem(prefix) : null;
      if (problem) throw new AppError("ingress_path_invalid", `The S3 key prefix ${problem}.`);
      const bucket = await call(bucketUrl(), { method: "HEAD" });
      if (bucket.status === 404)
        throw new AppError("storage_rejected", `Bucket "${spec.bucket}" does not exist.`);
      await expectOk(bucket, "show the bucket");
      const probe = `.flotilla/probe-${randomBytes(8).toString("hex")}`;
      await expectOk(await call(url(probe), { method: "PUT", body: "ok" }), "write a probe object");
      await expectOk(await call(url(probe), { method: "DELETE" }), "delete the probe object");
    },

    async capacity() {
      return null;
    },

    async put(key: string, body: AsyncIterable<Uint8Array>, options: PutOptions) {
      const meter = metered(body, options.size);
      const iterator = meter.body[Symbol.asyncIterator]();
      const chunks: Uint8Array[] = [];
      let buffered = 0;
      let done = false;
      while (buffered <= S3_PART_BYTES) {
        const next = await iterator.next();
        if (next.done) {
          done = true;
          break;
        }
        chunks.push(next.value);
        buffered += next.value.byteLength;
      }
      const first = concat(chunks, buffered);
      let etag: string | null;
      if (done) {
        checkDigest(meter.digest(), options.sha256);
        const headers: Record<string, string> = {};
        if (options.contentType) headers["content-type"] = options.contentType;
        const response = await expectOk(
          await call(url(key), { method: "PUT", body: first, headers }),
          "store the object",
        );
        etag = response.headers.get("etag");
      } else {
        etag = await putMultipart(key, first, iterator, options, () => meter.digest());
      }
      const meta: Meta = {
        size: options.size,
        sha256: meter.digest(),
        content_type: options.contentType,
        etag,
      };
      await writeMeta(key, meta);
      return { size: meta.size, sha256: meta.sha256, contentType: meta.content_type };
    },

    async open(key: string): Promise<ObjectHandle | null> {
      const [head, meta] = await Promise.all([call(url(key), { method: "HEAD" }), readMeta(key)]);
      if (head.status === 404) return null;
      await expectOk(head, "show the object");
      const size = Number(head.headers.get("content-length") ?? "0");
      const etag = head.headers.get("etag");
      const trusted = meta !== null && meta.size === size && (meta.etag === null || meta.etag === etag);
      return {
        size,
        sha256: trusted ? meta.sha256 : null,
        contentType: trusted ? meta.content_type : head.headers.get("content-type"),
        async stream(range) {
          const headers: Record<string, string> = {};
          if (range) headers.range = `bytes=${range.start}-${range.end}`;
          const response = await expectOk(await call(url(key), { headers }), "read the object");
          if (!response.body) throw new AppError("storage_unavailable", "S3 sent no body.");
          return response.body as ReadableStream<Uint8Array>;
        },
        release: async () => undefined,
      };
    },

    async delete(key: string) {
      for (const k of [key, metaKey(key)]) {
        const response = await call(url(k), { method: "DELETE" });
        if (response.status !== 404) await expectOk(response, "delete the object");
        await response.body?.cancel();
      }
    },
  };
}
