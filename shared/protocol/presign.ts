// Owns presigned URLs for browsers: SigV4 query signing (aws4fetch signQuery) over the same canonical
// URL as signed requests. Everything that must not change (method, key or part, size, content type,
// upload ticket, response overrides) is a query parameter, hence covered by the signature.
import { AwsV4Signer } from "aws4fetch";
import { timingSafeEqual } from "../crypto.ts";
import { AppError } from "../errors.ts";
import {
  amzDate,
  CANONICAL_ORIGIN,
  type Credentials,
  checkClock,
  parseAmzDate,
  SIGNING_REGION,
  SIGNING_SERVICE,
} from "./signing.ts";

/** The agent refuses presigned URLs that live longer than this, whatever the primary asked for. */
export const PRESIGN_MAX_TTL_SECONDS = 3600;

/** Query parameters bound by presigned URLs (besides the X-Amz-* ones). */
export const presignParams = {
  size: "size",
  contentType: "content-type",
  sha256: "sha256",
  ticket: "ticket",
  target: "target",
  responseContentType: "response-content-type",
  responseContentDisposition: "response-content-disposition",
  responseCacheControl: "response-cache-control",
} as const;

export interface PresignInput {
  method: "GET" | "PUT";
  /** The agent's base_url as the browser reaches it (no trailing slash needed). */
  baseUrl: string;
  /** Path and query relative to base_url. */
  path: string;
  credentials: Credentials;
  expiresInSeconds: number;
  now?: Date;
}

export async function presignUrl(input: PresignInput): Promise<string> {
  const url = new URL(CANONICAL_ORIGIN + input.path);
  url.searchParams.set("X-Amz-Expires", String(Math.floor(input.expiresInSeconds)));
  const signed = await new AwsV4Signer({
    method: input.method,
    url: url.toString(),
    accessKeyId: input.credentials.keyId,
    secretAccessKey: input.credentials.secret,
    service: SIGNING_SERVICE,
    region: SIGNING_REGION,
    datetime: amzDate(input.now ?? new Date()),
    signQuery: true,
  }).sign();
  return input.baseUrl.replace(/\/+$/, "") + signed.url.pathname + signed.url.search;
}

export interface PresignVerifyInput {
  method: string;
  /** Path and query relative to base_url, as received. */
  path: string;
  lookupSecret: (keyId: string) => string | undefined;
  now?: Date;
  notBefore?: Date;
  maxTtlSeconds?: number;
}

export interface PresignVerified {
  keyId: string;
  params: URLSearchParams;
  expiresAt: Date;
}

/** True when the URL carries presigned query authentication (rather than an Authorization header). */
export function isPresigned(url: URL): boolean {
  return url.searchParams.has("X-Amz-Signature");
}

export async function verifyPresigned(input: PresignVerifyInput): Promise<PresignVerified> {
  const url = new URL(CANONICAL_ORIGIN + input.path);
  const q = url.searchParams;
  const credential = /^([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request$/.exec(
    q.get("X-Amz-Credential") ?? "",
  );
  const date = q.get("X-Amz-Date") ?? "";
  const signedAt = parseAmzDate(date);
  const expiresText = q.get("X-Amz-Expires") ?? "";
  const signature = q.get("X-Amz-Signature") ?? "";
  if (
    q.get("X-Amz-Algorithm") !== "AWS4-HMAC-SHA256" ||
    !credential ||
    !signedAt ||
    credential[2] !== date.slice(0, 8) ||
    credential[3] !== SIGNING_REGION ||
    credential[4] !== SIGNING_SERVICE ||
    q.get("X-Amz-SignedHeaders") !== "host" ||
    !/^\d{1,6}$/.test(expiresText) ||
    !/^[0-9a-f]{64}$/.test(signature)
  ) {
    throw new AppError("auth_malformed", "The presigned URL is malformed or incomplete.");
  }
  const now = input.now ?? new Date();
  const ttl = Number(expiresText);
  const expiresAt = new Date(signedAt.getTime() + ttl * 1000);
  if (ttl > (input.maxTtlSeconds ?? PRESIGN_MAX_TTL_SECONDS)) {
    throw new AppError("presign_ttl_too_long", "The presigned URL lives longer than this node allows.");
  }
  if (now.getTime() > expiresAt.getTime())
    throw new AppError("presign_expired", "The presigned URL has expired.");
  if (signedAt.getTime() > now.getTime()) checkClock(signedAt, now);
  if (input.notBefore && signedAt.getTime() < Math.floor(input.notBefore.getTime() / 1000) * 1000) {
    throw new AppError("presign_expired", "The presigned URL was issued before this node started.");
  }
  const keyId = credential[1] ?? "";
  const secret = input.lookupSecret(keyId);
  if (secret === undefined)
    throw new AppError("auth_unknown_key", "The signing key is not known to this node.");
  q.delete("X-Amz-Signature");
  const expected = await new AwsV4Signer({
    method: input.method,
    url: url.toString(),
    accessKeyId: keyId,
    secretAccessKey: secret,
    service: SIGNING_SERVICE,
    region: SIGNING_REGION,
    datetime: date,
    signQuery: true,
  }).signature();
  if (!timingSafeEqual(expected, signature)) {
    throw new AppError("auth_bad_signature", "The presigned URL signature does not match.");
  }
  return { keyId, params: q, expiresAt };
}
