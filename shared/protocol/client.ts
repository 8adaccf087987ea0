// Owns the primary's typed client for a follower agent: every call signed with the node's key, every
// answer parsed with the protocol schemas, every refusal turned into an AppError carrying the agent's
// code. Network failures become follower_unreachable / follower_timeout. Runs in workerd and in Node.
import type { z } from "zod";
import { randomToken } from "../crypto.ts";
import { AppError, type ErrorCode, errorEnvelopeSchema, errorStatus } from "../errors.ts";
import { keyProblem, paths } from "./keys.ts";
import { presignParams, presignUrl } from "./presign.ts";
import {
  type BindingState,
  bindingStateSchema,
  type Capabilities,
  capabilitiesSchema,
  type IngressTargetInfo,
  type IngressTargetSpec,
  ingressTargetInfoSchema,
  ingressTargetListSchema,
  type MultipartComplete,
  type MultipartCreate,
  type MultipartSession,
  multipartSessionSchema,
  type ObjectCopy,
  type ObjectInfo,
  objectInfoSchema,
  type PartInfo,
  type PullRequest,
  type PullStatus,
  partInfoSchema,
  partListSchema,
  pullStatusSchema,
  storageRefusalSchema,
} from "./schemas.ts";
import { signRequest } from "./signing.ts";

export interface FollowerClientOptions {
  baseUrl: string;
  keyId: string;
  secret: string;
  fetch?: typeof fetch;
  /** Time allowed until response headers arrive (body streaming is not cut). Default 30 s. */
  timeoutMs?: number;
  /**
   * The same for requests whose answer comes only after a long piece of work: a streamed body (the
   * whole upload happens before the answer) or composing a multipart object. Default: timeoutMs.
   */
  streamTimeoutMs?: number;
}

export type ObjectBody = ReadableStream<Uint8Array> | Uint8Array<ArrayBuffer>;

export interface PutObjectOptions {
  size: number;
  sha256?: string;
  contentType?: string;
  target?: string;
  /** Settles when the last byte of a streamed body has been handed over (see BodySent). */
  bodySent?: BodySent;
}

/**
 * For a streamed body: settles once its last byte has been handed to the transport. The answer
 * limit then starts there, so an upload goes at the pace of whoever sends it (a slow client with big
 * chunks) and only the follower's answer afterwards is timed. Without it the limit runs from the start.
 */
export type BodySent = Promise<unknown>;

export interface GetObjectOptions {
  target?: string;
  /** The caller gave up (its client went away): the request stops, even while it waits to be sent. */
  signal?: AbortSignal;
  range?: string;
  ifRange?: string;
  ifNoneMatch?: string;
  responseContentType?: string;
  responseContentDisposition?: string;
  responseCacheControl?: string;
}

export interface HeadResult {
  size: number;
  etag: string | null;
  sha256: string | null;
  contentType: string | null;
}

export interface PresignGetInput
  extends Omit<GetObjectOptions, "range" | "ifRange" | "ifNoneMatch" | "signal"> {
  key: string;
  expiresInSeconds: number;
}

export interface PresignPutInput {
  key: string;
  size: number;
  contentType: string;
  sha256?: string;
  target?: string;
  expiresInSeconds: number;
}

export interface PresignPartInput {
  uploadId: string;
  partNumber: number;
  size: number;
  sha256?: string;
  expiresInSeconds: number;
}

export interface PresignedUrl {
  url: string;
  method: "GET" | "PUT";
  expiresAt: string;
  /** Headers the browser must send (PUT: content-type). */
  headers: Record<string, string>;
}

interface SendOptions {
  headers?: Record<string, string>;
  size?: number;
  /** The answer comes only after a long piece of work (streamTimeoutMs). */
  longWork?: boolean;
  bodySent?: BodySent;
  signal?: AbortSignal;
}

/** Refuses a bad key before anything is sent (the agent refuses it too). */
function checkKey(key: string): void {
  const problem = keyProblem(key);
  if (problem) throw new AppError("object_key_invalid", `The object key ${problem}.`);
}

function withQuery(path: string, params: Record<string, string | number | undefined>): string {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value !== undefined) query.set(name, String(value));
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}

/** Turns an agent's error answer into an AppError with the agent's code (or follower_error). */
export async function followerErrorFrom(response: Response): Promise<AppError> {
  const text = await response.text().catch(() => "");
  let parsed: z.infer<typeof errorEnvelopeSchema> | undefined;
  try {
    parsed = errorEnvelopeSchema.parse(JSON.parse(text));
  } catch {
    parsed = undefined;
  }
  const details = {
    follower_status: response.status,
    follower_request_id: parsed?.error.request_id ?? null,
    follower_details: parsed?.error.details ?? null,
  };
  const code = parsed?.error.code;
  if (code && code in errorStatus && errorStatus[code as ErrorCode] === response.status) {
    // A storage refusal names the S3 code it met, where the primary looks for it (as its own S3 driver
    // reports it), so both tell a configuration refusal from a refusal of the upload the same way.
    const refusal =
      code === "storage_rejected" || code === "storage_unavailable"
        ? storageRefusalSchema.safeParse(parsed?.error.details)
        : null;
    return new AppError(code as ErrorCode, parsed?.error.message ?? "Follower error.", {
      details: refusal?.success ? { ...details, s3_code: refusal.data.s3_code } : details,
    });
  }
  return new AppError("follower_error", `The follower answered HTTP ${response.status}.`, { details });
}

export function createFollowerClient(options: FollowerClientOptions) {
  const baseUrl = options.baseUrl.replace(/\/+$/, "");
  const doFetch = options.fetch ?? fetch;
  const answerTimeoutMs = options.timeoutMs ?? 30_000;
  const streamTimeoutMs = options.streamTimeoutMs ?? answerTimeoutMs;
  const credentials = { keyId: options.keyId, secret: options.secret };

  async function send(
    method: string,
    path: string,
    body: string | ObjectBody | null,
    o: SendOptions = {},
  ): Promise<Response> {
    const streamed = body instanceof ReadableStream;
    const timeoutMs = streamed || o.longWork ? streamTimeoutMs : answerTimeoutMs;
    const headers = await signRequest({ method, path, credentials, body: streamed ? "unsigned" : body });
    for (const [name, value] of Object.entries(o.headers ?? {})) headers.set(name, value);
    if (typeof body === "string") headers.set("content-type", "application/json");
    if (o.size !== undefined) headers.set("content-length", String(o.size));
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let settled = false;
    const arm = () => {
      if (!settled) timer = setTimeout(() => controller.abort(), timeoutMs);
    };
    if (streamed && o.bodySent) void o.bodySent.then(arm, arm);
    else arm();
    // The caller's signal goes with the request (through the channel too, where a request still
    // waiting for a stream leaves the queue): the follower stops serving a client that went away.
    const signal = o.signal ? AbortSignal.any([controller.signal, o.signal]) : controller.signal;
    const init: RequestInit & { duplex?: "half" } = { method, headers, body, signal };
    if (streamed) init.duplex = "half";
    try {
      return await doFetch(baseUrl + path, init);
    } catch (error) {
      if (o.signal?.aborted) {
        throw new AppError("client_closed_request", "The client went away before the follower answered.", {
          cause: error,
        });
      }
      if (controller.signal.aborted) {
        throw new AppError("follower_timeout", `The follower did not answer within ${timeoutMs} ms.`, {
          cause: error,
        });
      }
      throw new AppError("follower_unreachable", "The follower could not be reached.", { cause: error });
    } finally {
      settled = true;
      clearTimeout(timer);
    }
  }

  async function json<T>(schema: z.ZodType<T>, response: Response, expected: number[] = [200]): Promise<T> {
    if (!expected.includes(response.status)) throw await followerErrorFrom(response);
    let value: unknown;
    try {
      value = await response.json();
    } catch (error) {
      throw new AppError("follower_error", "The follower sent a malformed answer.", { cause: error });
    }
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      throw new AppError("follower_error", "The follower sent an answer that does not match protocol v2.", {
        cause: parsed.error,
      });
    }
    return parsed.data;
  }

  async function noContent(response: Response): Promise<void> {
    if (response.status !== 204 && response.status !== 200) throw await followerErrorFrom(response);
    await response.body?.cancel();
  }

  const objectQuery = (o: PutObjectOptions) => ({
    size: o.size,
    sha256: o.sha256,
    [presignParams.contentType]: o.contentType,
    target: o.target,
  });

  return {
    baseUrl,

    async capabilities(): Promise<Capabilities> {
      return json(capabilitiesSchema, await send("GET", paths.capabilities, null));
    },

    async pushBinding(state: BindingState): Promise<BindingState> {
      return json(bindingStateSchema, await send("PUT", paths.binding, JSON.stringify(state)));
    },

    async listIngressTargets(): Promise<IngressTargetInfo[]> {
      return (await json(ingressTargetListSchema, await send("GET", paths.ingressTargets, null))).targets;
    },

    /** Pushes a target; the answer carries its apply state (applied, or failed with a reason). */
    async upsertIngressTarget(key: string, spec: IngressTargetSpec): Promise<IngressTargetInfo> {
      const response = await send("PUT", paths.ingressTarget(key), JSON.stringify(spec));
      return json(ingressTargetInfoSchema, response, [200, 201]);
    },

    async deleteIngressTarget(key: string): Promise<void> {
      await noContent(await send("DELETE", paths.ingressTarget(key), null));
    },

    /** Streams an object with a known size; the agent verifies size (and sha256 when given) before commit. */
    async putObject(key: string, body: ObjectBody, o: PutObjectOptions): Promise<ObjectInfo> {
      checkKey(key);
      const path = withQuery(paths.object(key), objectQuery(o));
      const response = await send("PUT", path, body, { size: o.size, bodySent: o.bodySent });
      return json(objectInfoSchema, response, [201]);
    },

    /** Returns the agent's response (200, 206 or 304) for streaming through; refusals are thrown. */
    async getObject(key: string, o: GetObjectOptions = {}): Promise<Response> {
      checkKey(key);
      const headers: Record<string, string> = {};
      if (o.range) headers.range = o.range;
      if (o.ifRange) headers["if-range"] = o.ifRange;
      if (o.ifNoneMatch) headers["if-none-match"] = o.ifNoneMatch;
      const path = withQuery(paths.object(key), {
        target: o.target,
        [presignParams.responseContentType]: o.responseContentType,
        [presignParams.responseContentDisposition]: o.responseContentDisposition,
        [presignParams.responseCacheControl]: o.responseCacheControl,
      });
      const response = await send("GET", path, null, { headers, signal: o.signal });
      if (response.status === 200 || response.status === 206 || response.status === 304) return response;
      throw await followerErrorFrom(response);
    },

    /** Size, digest and type of an object, or null when it does not exist. */
    async headObject(key: string, o: { target?: string } = {}): Promise<HeadResult | null> {
      checkKey(key);
      const response = await send("HEAD", withQuery(paths.object(key), { target: o.target }), null);
      if (response.status === 404) return null;
      if (response.status !== 200) throw await followerErrorFrom(response);
      const etag = response.headers.get("etag");
      return {
        size: Number(response.headers.get("content-length") ?? "0"),
        etag,
        sha256: etag ? etag.replace(/"/g, "") : null,
        contentType: response.headers.get("content-type"),
      };
    },

    /** Idempotent: deleting a missing object succeeds. */
    async deleteObject(key: string, o: { target?: string } = {}): Promise<void> {
      checkKey(key);
      await noContent(await send("DELETE", withQuery(paths.object(key), { target: o.target }), null));
    },

    /** Copies an object on the follower (capability `copy`); size and SHA-256 are checked there. */
    async copyObject(input: ObjectCopy): Promise<ObjectInfo> {
      const response = await send("POST", paths.copy, JSON.stringify(input), { longWork: true });
      return json(objectInfoSchema, response, [201]);
    },

    async createMultipart(input: MultipartCreate): Promise<MultipartSession> {
      const response = await send("POST", paths.multipart, JSON.stringify(input));
      return json(multipartSessionSchema, response, [201]);
    },

    /** Idempotent per part number: a retried part replaces the earlier one. */
    async putPart(
      uploadId: string,
      partNumber: number,
      body: ObjectBody,
      o: { size: number; sha256?: string; bodySent?: BodySent },
    ): Promise<PartInfo> {
      const path = withQuery(paths.multipartPart(uploadId, partNumber), { size: o.size, sha256: o.sha256 });
      return json(
        partInfoSchema,
        await send("PUT", path, body, { size: o.size, bodySent: o.bodySent }),
        [200, 201],
      );
    },

    async listParts(uploadId: string): Promise<PartInfo[]> {
      return (await json(partListSchema, await send("GET", paths.multipartParts(uploadId), null))).parts;
    },

    async completeMultipart(uploadId: string, input: MultipartComplete): Promise<ObjectInfo> {
      const response = await send("POST", paths.multipartComplete(uploadId), JSON.stringify(input), {
        longWork: true,
      });
      return json(objectInfoSchema, response, [200, 201]);
    },

    async abortMultipart(uploadId: string): Promise<void> {
      await noContent(await send("DELETE", paths.multipartUpload(uploadId), null));
    },

    /** Asks the agent to fetch an object from `source_url` itself; answers at once (202) with its state. */
    async startPull(input: PullRequest): Promise<PullStatus> {
      checkKey(input.key);
      return json(pullStatusSchema, await send("POST", paths.pulls, JSON.stringify(input)), [202]);
    },

    /** The state of a pull; pull_not_found once the agent forgot it (long finished, or restarted). */
    async pullStatus(id: string): Promise<PullStatus> {
      return json(pullStatusSchema, await send("GET", paths.pull(id), null));
    },

    /** Stops a pull; nothing it fetched is kept. Idempotent. */
    async cancelPull(id: string): Promise<void> {
      await noContent(await send("DELETE", paths.pull(id), null));
    },

    /** A GET URL for a browser; the response overrides are covered by the signature. */
    async presignGet(input: PresignGetInput, now?: Date): Promise<PresignedUrl> {
      checkKey(input.key);
      const path = withQuery(paths.object(input.key), {
        target: input.target,
        [presignParams.responseContentType]: input.responseContentType,
        [presignParams.responseContentDisposition]: input.responseContentDisposition,
        [presignParams.responseCacheControl]: input.responseCacheControl,
      });
      return presigned("GET", path, input.expiresInSeconds, {}, now);
    },

    /** A single-use PUT URL bound to key, exact size and content type (and digest when given). */
    async presignPut(input: PresignPutInput, now?: Date): Promise<PresignedUrl> {
      checkKey(input.key);
      const path = withQuery(paths.object(input.key), {
        ...objectQuery(input),
        ticket: randomToken("t", 18),
      });
      return presigned("PUT", path, input.expiresInSeconds, { "content-type": input.contentType }, now);
    },

    /** A single-use PUT URL for one multipart part, bound to its size (and digest when given). */
    async presignPart(input: PresignPartInput, now?: Date): Promise<PresignedUrl> {
      const path = withQuery(paths.multipartPart(input.uploadId, input.partNumber), {
        size: input.size,
        sha256: input.sha256,
        ticket: randomToken("t", 18),
      });
      return presigned("PUT", path, input.expiresInSeconds, {}, now);
    },
  };

  async function presigned(
    method: "GET" | "PUT",
    path: string,
    expiresInSeconds: number,
    headers: Record<string, string>,
    now = new Date(),
  ): Promise<PresignedUrl> {
    const url = await presignUrl({ method, baseUrl, path, credentials, expiresInSeconds, now });
    return {
      url,
      method,
      headers,
      expiresAt: new Date(now.getTime() + expiresInSeconds * 1000).toISOString(),
    };
  }
}

export type FollowerClient = ReturnType<typeof createFollowerClient>;
