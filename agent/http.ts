// Owns the small HTTP helpers of the agent: JSON answers, bounded bodies of signed requests checked
// against their signed payload hash, request ids, and the CORS headers presigned browser traffic gets.
import { randomBytes } from "node:crypto";
import type { z } from "zod";
import { AppError } from "../shared/errors.ts";
import { BROWSER_CORS } from "../shared/protocol/schemas.ts";
import { verifyBodyHash } from "../shared/protocol/signing.ts";

export const MAX_JSON_BODY_BYTES = 1024 * 1024;

export function newRequestId(): string {
  return `req_${randomBytes(12).toString("hex")}`;
}

export function json(value: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(value), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", ...headers },
  });
}

/**
 * Reads the whole body of a signed request (at most MAX_JSON_BODY_BYTES, also on routes that take
 * none) and checks it against the signed payload hash before any handler runs.
 */
export async function readSignedBody(
  request: Request,
  contentSha256: string,
): Promise<Uint8Array<ArrayBuffer>> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > MAX_JSON_BODY_BYTES) throw new AppError("payload_too_large", "The body is too large.");
  const chunks: Uint8Array[] = [];
  let total = 0;
  if (request.body) {
    for await (const chunk of request.body) {
      total += chunk.byteLength;
      if (total > MAX_JSON_BODY_BYTES) throw new AppError("payload_too_large", "The body is too large.");
      chunks.push(chunk);
    }
  }
  const body = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  await verifyBodyHash(body, contentSha256);
  return body;
}

/** Parses the verified body of a signed request as JSON of the given schema. */
export function parseJson<T>(body: Uint8Array | null, schema: z.ZodType<T>): T {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(body ?? new Uint8Array()));
  } catch {
    throw new AppError("bad_request", "The body is not valid JSON.");
  }
  return schema.parse(value);
}

/** Normalizes an origin (scheme and host lowercased, default port dropped); null when not an origin. */
export function normalizeOrigin(text: string): string | null {
  try {
    const url = new URL(text);
    if (url.protocol !== "http:" && url.protocol !== "https:") return null;
    return url.origin;
  } catch {
    return null;
  }
}

export function corsHeaders(origin: string, method: string): Record<string, string> {
  const exposed = method === "PUT" ? BROWSER_CORS.exposed_headers_put : BROWSER_CORS.exposed_headers_get;
  return {
    "access-control-allow-origin": origin,
    "access-control-expose-headers": exposed.join(", "),
    vary: "Origin",
  };
}
