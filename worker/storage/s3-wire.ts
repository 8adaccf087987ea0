// Owns the S3 wire details the driver needs beyond signing: key encoding into URLs, the few XML
// fields we read (no XML parser in workerd), and mapping S3 failures to our codes without leaking text.
import { AppError } from "../../shared/errors.ts";

/** Percent-encodes each key segment (RFC 3986 unreserved kept), leaving `/` separators. */
export function encodeKey(key: string): string {
  return key
    .split("/")
    .map((segment) =>
      encodeURIComponent(segment).replace(
        /[!'()*]/g,
        (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
      ),
    )
    .join("/");
}

/** The text of the first `<name>` element, XML entities decoded; null when absent. */
export function xmlField(xml: string, name: string): string | null {
  const match = new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml);
  if (!match) return null;
  return match[1]!
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&");
}

/** A network failure reaching the store: retryable, says nothing about the request. */
export function unreachable(cause: unknown): AppError {
  return new AppError("storage_unavailable", "The object store could not be reached.", { cause });
}

/**
 * Maps a failed S3 response. 5xx is transient (storage_unavailable); everything else is a refusal
 * whose S3 error code (e.g. InvalidAccessKeyId, NoSuchBucket) is safe to show an admin.
 */
export async function s3Failure(response: Response, operation: string): Promise<AppError> {
  const text = await response.text().catch(() => "");
  const s3Code = xmlField(text, "Code") ?? `HTTP ${response.status}`;
  const details = { operation, status: response.status, s3_code: s3Code };
  if (response.status >= 500) {
    return new AppError("storage_unavailable", `The object store failed (${s3Code}).`, { details });
  }
  return new AppError("storage_rejected", `The object store refused the request (${s3Code}).`, { details });
}

/** Quote-normalized ETag (S3 sends it quoted; we keep the quotes as HTTP does). */
export function quoteEtag(etag: string | null): string {
  if (!etag) return '""';
  return etag.startsWith('"') || etag.startsWith('W/"') ? etag : `"${etag}"`;
}
