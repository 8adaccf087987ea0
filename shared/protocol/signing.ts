// Owns request signing for protocol v2: AWS SigV4 (aws4fetch) with service "flotilla" and region "v2",
// a one-time nonce header among the signed headers, and the verifier that rebuilds the canonical request
// from what was received. Canonical URL: CANONICAL_ORIGIN + the path relative to the agent's base_url, so
// reverse proxies may rewrite Host or strip a path prefix without breaking signatures (docs/protocol-v2.md).
import { AwsV4Signer } from "aws4fetch";
import { randomToken, sha256Hex, timingSafeEqual } from "../crypto.ts";
import { AppError } from "../errors.ts";

export const SIGNING_SERVICE = "flotilla";
export const SIGNING_REGION = "v2";
/** The host every signature is computed for; the real host is not signed (key ids are per node). */
export const CANONICAL_ORIGIN = "https://flotilla-agent";
export const NONCE_HEADER = "x-flotilla-nonce";
export const CONTENT_SHA256_HEADER = "x-amz-content-sha256";
export const DATE_HEADER = "x-amz-date";
export const UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD";
export const MAX_SKEW_SECONDS = 300;
const REQUIRED_SIGNED = ["host", CONTENT_SHA256_HEADER, DATE_HEADER, NONCE_HEADER];

export interface Credentials {
  keyId: string;
  secret: string;
}

export interface SignInput {
  method: string;
  /** Path and query relative to the agent's base_url, starting with "/". */
  path: string;
  credentials: Credentials;
  /** The exact body bytes, or "unsigned" for a streamed body (its size and digest travel in the query). */
  body: string | Uint8Array<ArrayBuffer> | null | "unsigned";
  now?: Date;
}

/** Formats a date as SigV4's basic ISO 8601 (20260101T000000Z). */
export function amzDate(date: Date): string {
  return date.toISOString().replace(/[:-]|\.\d{3}/g, "");
}

export function parseAmzDate(value: string): Date | null {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!match) return null;
  const [, y, mo, d, h, mi, s] = match;
  const date = new Date(`${y}-${mo}-${d}T${h}:${mi}:${s}Z`);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** Returns the headers that authenticate the request: authorization, date, payload hash and nonce. */
export async function signRequest(input: SignInput): Promise<Headers> {
  const contentSha256 =
    input.body === "unsigned"
      ? UNSIGNED_PAYLOAD
      : await sha256Hex(
          typeof input.body === "string" || input.body === null ? (input.body ?? "") : input.body,
        );
  const signer = new AwsV4Signer({
    method: input.method,
    url: CANONICAL_ORIGIN + input.path,
    headers: { [CONTENT_SHA256_HEADER]: contentSha256, [NONCE_HEADER]: randomToken("n", 18) },
    accessKeyId: input.credentials.keyId,
    secretAccessKey: input.credentials.secret,
    service: SIGNING_SERVICE,
    region: SIGNING_REGION,
    datetime: amzDate(input.now ?? new Date()),
    cache: signingKeyCache(),
  });
  const { headers } = await signer.sign();
  return headers;
}

/**
 * The signing keys derived so far (one per secret and day: four HMACs that every signature and every
 * check would otherwise redo), for aws4fetch's signer. Held in memory only, cleared when it grows past
 * a few days of a few hundred nodes.
 */
const signingKeys = new Map<string, ArrayBuffer>();
function signingKeyCache(): Map<string, ArrayBuffer> {
  if (signingKeys.size > 1024) signingKeys.clear();
  return signingKeys;
}

/** Remembers nonces until they leave the skew window. Bounded: when full of live nonces it refuses. */
export class NonceCache {
  readonly #seen = new Map<string, number>();
  readonly #max: number;
  readonly #ttlMs: number;

  constructor(maxEntries = 100_000, ttlMs = 2 * MAX_SKEW_SECONDS * 1000) {
    this.#max = maxEntries;
    this.#ttlMs = ttlMs;
  }

  /** Records the nonce; false when it was already seen. */
  claim(nonce: string, nowMs: number): boolean {
    if (this.#seen.has(nonce)) {
      const until = this.#seen.get(nonce) ?? 0;
      if (until > nowMs) return false;
      this.#seen.delete(nonce);
    }
    if (this.#seen.size >= this.#max) this.#evict(nowMs);
    if (this.#seen.size >= this.#max) {
      throw new AppError("rate_limited", "Too many signed requests in the replay window.");
    }
    this.#seen.set(nonce, nowMs + this.#ttlMs);
    return true;
  }

  #evict(nowMs: number): void {
    for (const [nonce, until] of this.#seen) if (until <= nowMs) this.#seen.delete(nonce);
  }
}

export interface VerifyInput {
  method: string;
  /** Path and query relative to the base_url, as received (pathname + search). */
  path: string;
  headers: Headers;
  lookupSecret: (keyId: string) => string | undefined;
  nonces: NonceCache;
  now?: Date;
  /** Requests signed before this instant are refused (the nonce cache does not survive restarts). */
  notBefore?: Date;
  /** Whether this route accepts UNSIGNED-PAYLOAD (streamed bodies). */
  allowUnsignedPayload: boolean;
}

export interface Verified {
  keyId: string;
  /** Hex SHA-256 the body must have, or UNSIGNED_PAYLOAD. Check with verifyBodyHash. */
  contentSha256: string;
}

const AUTH_RE =
  /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;

function fail(
  code: "auth_missing" | "auth_malformed" | "auth_unknown_key" | "auth_clock_skew",
  message: string,
) {
  return new AppError(code, message);
}

/**
 * Verifies a header-signed request before anything is touched. Order: shape, clock, key, signature,
 * then the nonce (a bad signature does not burn a nonce). The body hash is checked by the caller.
 */
export async function verifyRequest(input: VerifyInput): Promise<Verified> {
  const authorization = input.headers.get("authorization");
  if (!authorization) throw fail("auth_missing", "The request is not signed.");
  const match = AUTH_RE.exec(authorization);
  const date = input.headers.get(DATE_HEADER);
  const nonce = input.headers.get(NONCE_HEADER);
  const contentSha256 = input.headers.get(CONTENT_SHA256_HEADER);
  if (!match || !date || !nonce || !contentSha256) {
    throw fail("auth_malformed", "The request signature is malformed or incomplete.");
  }
  const [, keyId = "", scopeDate, region, service, signedHeaders = "", signature = ""] = match;
  const signedAt = parseAmzDate(date);
  const signed = signedHeaders.split(";");
  if (
    !signedAt ||
    scopeDate !== date.slice(0, 8) ||
    region !== SIGNING_REGION ||
    service !== SIGNING_SERVICE ||
    !REQUIRED_SIGNED.every((name) => signed.includes(name)) ||
    !/^[A-Za-z0-9_-]{16,128}$/.test(nonce) ||
    !(contentSha256 === UNSIGNED_PAYLOAD || /^[0-9a-f]{64}$/.test(contentSha256))
  ) {
    throw fail("auth_malformed", "The request signature is malformed or incomplete.");
  }
  checkClock(signedAt, input.now ?? new Date(), input.notBefore);
  const secret = input.lookupSecret(keyId);
  if (secret === undefined) throw fail("auth_unknown_key", "The signing key is not known to this node.");

  const headers: Record<string, string> = {};
  for (const name of signed) {
    if (name === "host") continue;
    const value = input.headers.get(name);
    if (value === null) throw fail("auth_malformed", "A signed header is missing from the request.");
    headers[name] = value;
  }
  const expected = await new AwsV4Signer({
    method: input.method,
    url: CANONICAL_ORIGIN + input.path,
    headers,
    accessKeyId: keyId,
    secretAccessKey: secret,
    service: SIGNING_SERVICE,
    region: SIGNING_REGION,
    datetime: date,
    allHeaders: true,
    cache: signingKeyCache(),
  }).signature();
  if (!timingSafeEqual(expected, signature)) {
    throw new AppError("auth_bad_signature", "The request signature does not match.");
  }
  if (!input.nonces.claim(`${keyId}:${nonce}`, (input.now ?? new Date()).getTime())) {
    throw new AppError("auth_replayed_nonce", "This request was already received.");
  }
  if (contentSha256 === UNSIGNED_PAYLOAD && !input.allowUnsignedPayload) {
    throw new AppError("auth_body_hash_mismatch", "This endpoint requires a signed payload hash.");
  }
  return { keyId, contentSha256 };
}

/** Compares a received body with the signed payload hash. */
export async function verifyBodyHash(body: Uint8Array<ArrayBuffer>, contentSha256: string): Promise<void> {
  if (contentSha256 === UNSIGNED_PAYLOAD) return;
  if (!timingSafeEqual(await sha256Hex(body), contentSha256)) {
    throw new AppError("auth_body_hash_mismatch", "The body does not match its signed hash.");
  }
}

export function checkClock(signedAt: Date, now: Date, notBefore?: Date): void {
  const skewMs = Math.abs(now.getTime() - signedAt.getTime());
  if (skewMs > MAX_SKEW_SECONDS * 1000) {
    throw fail(
      "auth_clock_skew",
      `The request time is more than ${MAX_SKEW_SECONDS} s away from the node's clock.`,
    );
  }
  if (notBefore && signedAt.getTime() < Math.floor(notBefore.getTime() / 1000) * 1000) {
    throw fail("auth_clock_skew", "The request was signed before this node started; sign it again.");
  }
}
