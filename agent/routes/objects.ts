// Owns object traffic: streamed PUT (size bound before reading, SHA-256 while streaming, atomic commit),
// GET/HEAD with Range, If-Range and If-None-Match, idempotent DELETE, and copies made here. Serves both signed primary
// calls and presigned browser URLs; for the latter the signed query binds size, type and ticket.
import { AppError } from "../../shared/errors.ts";
import { keyProblem } from "../../shared/protocol/keys.ts";
import { type ObjectInfo, objectCopySchema } from "../../shared/protocol/schemas.ts";
import type { AgentServices, Scope } from "../context.ts";
import { fileResponse, requestBytes } from "../fast-path.ts";
import { json, parseJson } from "../http.ts";
import { counting } from "../metrics.ts";
import { noneMatch, parseRange, rangeApplies } from "../ranges.ts";
import type { StoredObject, TargetStore } from "../store/types.ts";

/** The key from the URL path: each segment percent-decoded, then held to the protocol's key rules. */
export function objectKey(scope: Scope): string {
  let segments: string[];
  try {
    segments = (scope.params.key ?? "").split("/").map(decodeURIComponent);
  } catch {
    throw new AppError("object_key_invalid", "The object key is not valid percent-encoding.");
  }
  if (segments.some((segment) => segment.includes("/"))) {
    throw new AppError("object_key_invalid", "The object key may not contain an encoded '/'.");
  }
  const key = segments.join("/");
  const problem = keyProblem(key);
  if (problem) throw new AppError("object_key_invalid", `The object key ${problem}.`);
  return key;
}

/** The query parameters of a request: the signed query for presigned URLs, else the URL's own. */
function query(scope: Scope): URLSearchParams {
  return scope.presigned?.params ?? scope.url.searchParams;
}

export function ensureServing(services: AgentServices): void {
  if (!services.state.current.binding.enabled) {
    throw new AppError("binding_disabled", "The primary has disabled this node.");
  }
}

export interface BodyBounds {
  size: number;
  sha256: string | undefined;
  contentType: string | null;
  /** The digest is the request's signed payload hash (a signed PUT that did not say UNSIGNED-PAYLOAD). */
  signedHash: boolean;
}

/** Reads and checks size / sha256 / content-type before a single body byte is read. */
export function bodyBounds(services: AgentServices, scope: Scope): BodyBounds {
  const q = query(scope);
  const sizeText = q.get("size");
  if (sizeText === null)
    throw new AppError("length_required", "The signed query must carry the body's size.");
  if (!/^\d{1,16}$/.test(sizeText)) throw new AppError("validation_failed", "size must be a byte count.");
  const size = Number(sizeText);
  const max = services.config.maxObjectBytes;
  if (max > 0 && size > max) {
    throw new AppError("object_too_large", `Objects may be at most ${max} bytes.`, {
      details: { max_bytes: max },
    });
  }
  const declared = scope.request.headers.get("content-length");
  if (declared !== null && declared !== sizeText) {
    throw new AppError(
      scope.presigned ? "presign_mismatch" : "content_length_mismatch",
      "Content-Length differs from the signed size.",
    );
  }
  if (scope.presigned && declared === null && size > 0) {
    throw new AppError("length_required", "Presigned uploads need a Content-Length.");
  }
  const sha256 = q.get("sha256") ?? undefined;
  if (sha256 !== undefined && !/^[0-9a-f]{64}$/.test(sha256)) {
    throw new AppError("validation_failed", "sha256 must be 64 lowercase hex digits.");
  }
  // A signed PUT that did not say UNSIGNED-PAYLOAD signed its body's hash: the body is held to it. A
  // declared sha256 that differs from it cannot be met by any body, so nothing is read.
  const signed = /^[0-9a-f]{64}$/.test(scope.contentSha256) ? scope.contentSha256 : undefined;
  if (signed !== undefined && sha256 !== undefined && signed !== sha256) {
    throw new AppError("content_digest_mismatch", "The body does not match its declared SHA-256.");
  }
  const contentType = q.get("content-type");
  if (scope.presigned && contentType !== null) {
    const sent = scope.request.headers.get("content-type");
    if (sent !== contentType)
      throw new AppError("presign_mismatch", "Content-Type differs from the signed type.");
  }
  if (contentType !== null && (contentType.length > 255 || /[\r\n]/.test(contentType))) {
    throw new AppError("validation_failed", "content-type is not valid.");
  }
  return { size, sha256: signed ?? sha256, contentType, signedHash: signed !== undefined };
}

/** Runs a put whose digest may be the signed payload hash: a mismatch then is a signature failure. */
export async function heldToSignature<T>(bounds: BodyBounds, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (bounds.signedHash && error instanceof AppError && error.code === "content_digest_mismatch") {
      throw new AppError("auth_body_hash_mismatch", "The body does not match its signed hash.");
    }
    throw error;
  }
}

export function requestBody(services: AgentServices, scope: Scope): AsyncIterable<Uint8Array> {
  return requestBytes(scope.request, (n) => services.metrics.bytesIn(n));
}

export function etagOf(sha256: string | null): string | null {
  return sha256 ? `"${sha256}"` : null;
}

export function objectInfo(
  key: string,
  target: string,
  stored: StoredObject & { sha256: string },
): ObjectInfo {
  return {
    key,
    target,
    size: stored.size,
    sha256: stored.sha256,
    etag: `"${stored.sha256}"`,
    content_type: stored.contentType,
  };
}

export async function putObject(services: AgentServices, scope: Scope): Promise<Response> {
  ensureServing(services);
  const key = objectKey(scope);
  const bounds = bodyBounds(services, scope);
  const target = await services.targets.resolve(query(scope).get("target"));
  const stored = await withTicket(services, scope, () =>
    heldToSignature(bounds, () => target.store.put(key, requestBody(services, scope), bounds)),
  );
  services.log.info("object stored", { request_id: scope.requestId, target: target.key, size: stored.size });
  const info = objectInfo(key, target.key, stored);
  return json(info, 201, { etag: info.etag });
}

/** Runs an upload under its presigned ticket: claimed first, released on failure, spent on success. */
export async function withTicket<T>(
  services: AgentServices,
  scope: Scope,
  run: () => Promise<T>,
): Promise<T> {
  if (!scope.presigned) return run();
  const ticket = scope.presigned.params.get("ticket");
  if (!ticket) throw new AppError("presign_mismatch", "Presigned uploads must carry a ticket.");
  services.tickets.claim(ticket, scope.presigned.expiresAt.getTime(), services.now().getTime());
  try {
    const result = await run();
    services.tickets.commit(ticket);
    return result;
  } catch (error) {
    services.tickets.release(ticket);
    throw error;
  }
}

function overrideHeaders(q: URLSearchParams, headers: Headers): void {
  const pairs: [string, string][] = [
    ["response-content-type", "content-type"],
    ["response-content-disposition", "content-disposition"],
    ["response-cache-control", "cache-control"],
  ];
  for (const [param, header] of pairs) {
    const value = q.get(param);
    if (value === null) continue;
    if (value.length > 1024 || /[\r\n\0]/.test(value)) {
      throw new AppError("validation_failed", `${param} is not a valid header value.`);
    }
    headers.set(header, value);
  }
}

export async function getObject(services: AgentServices, scope: Scope): Promise<Response> {
  ensureServing(services);
  const key = objectKey(scope);
  const q = query(scope);
  const target = await services.targets.resolve(q.get("target"));
  const handle = await open(target.store, key);
  const etag = etagOf(handle.sha256);
  const headers = new Headers({
    "accept-ranges": "bytes",
    "content-type": handle.contentType ?? "application/octet-stream",
    "x-content-type-options": "nosniff",
  });
  if (etag && handle.sha256) {
    headers.set("etag", etag);
    headers.set("repr-digest", `sha-256=:${Buffer.from(handle.sha256, "hex").toString("base64")}:`);
  }
  try {
    overrideHeaders(q, headers);
    const request = scope.request;
    if (noneMatch(request.headers.get("if-none-match"), etag)) {
      await handle.release();
      return new Response(null, { status: 304, headers });
    }
    const range = rangeApplies(request.headers.get("if-range"), etag)
      ? parseRange(request.headers.get("range"), handle.size)
      : null;
    const length = range ? range.end - range.start + 1 : handle.size;
    headers.set("content-length", String(length));
    if (range) headers.set("content-range", `bytes ${range.start}-${range.end}/${handle.size}`);
    const status = range ? 206 : 200;
    if (request.method === "HEAD" || length === 0) {
      await handle.release();
      return new Response(null, { status, headers });
    }
    const sent = (n: number) => services.metrics.bytesOut(n);
    if (handle.file) {
      const start = range?.start ?? 0;
      return fileResponse(
        { file: handle.file, start, length, release: () => handle.release(), sent },
        { status, headers },
      );
    }
    return new Response(counting(await handle.stream(range ?? undefined), sent), { status, headers });
  } catch (error) {
    await handle.release();
    throw error;
  }
}

async function open(store: TargetStore, key: string) {
  const handle = await store.open(key);
  if (!handle) throw new AppError("object_not_found", "No such object.");
  return handle;
}

/**
 * Copies an object between keys (and targets) of this follower: streamed from the source into an
 * atomic put that checks the declared size and SHA-256, so the primary never carries the bytes.
 */
export async function copyObject(services: AgentServices, scope: Scope): Promise<Response> {
  ensureServing(services);
  const input = parseJson(scope.body, objectCopySchema);
  const max = services.config.maxObjectBytes;
  if (max > 0 && input.size > max) {
    throw new AppError("object_too_large", `Objects may be at most ${max} bytes.`, {
      details: { max_bytes: max },
    });
  }
  const source = await services.targets.resolve(input.source.target ?? null);
  const target = await services.targets.resolve(input.target ?? null);
  const handle = await open(source.store, input.source.key);
  if (handle.size !== input.size || (handle.sha256 !== null && handle.sha256 !== input.sha256)) {
    await handle.release();
    throw new AppError("precondition_failed", "The source object is not the one named (size or SHA-256).");
  }
  const body = await handle.stream();
  const stored = await target.store
    .put(input.key, body, { size: input.size, sha256: input.sha256, contentType: handle.contentType })
    .catch(async (error: unknown) => {
      await body.cancel().catch(() => {});
      throw error;
    });
  services.log.info("object copied", { request_id: scope.requestId, target: target.key, size: stored.size });
  const info = objectInfo(input.key, target.key, stored);
  return json(info, 201, { etag: info.etag });
}

export async function deleteObject(services: AgentServices, scope: Scope): Promise<Response> {
  ensureServing(services);
  const key = objectKey(scope);
  const target = await services.targets.resolve(query(scope).get("target"));
  await target.store.delete(key);
  return new Response(null, { status: 204 });
}
