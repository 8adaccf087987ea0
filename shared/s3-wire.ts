// Owns the S3 wire details beyond signing that the primary's s3 driver and the agent's S3 ingress
// target share: key encoding into URLs, the few XML fields we read and write (no XML parser in
// workerd), and mapping S3 failures to our codes without leaking text. Runtime-neutral.
import { AppError } from "./errors.ts";

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
  return match ? decodeXmlText(match[1]!) : null;
}

const NAMED_ENTITIES: Record<string, string> = { quot: '"', apos: "'", lt: "<", gt: ">", amp: "&" };

/**
 * Decodes the five predefined entities and numeric character references (`&#34;`, `&#x22;`; Go's
 * encoder, which MinIO uses, writes quotes that way) in one pass, so `&amp;quot;` stays `&quot;`.
 * A reference to a character XML does not allow is left as written.
 */
export function decodeXmlText(text: string): string {
  return text.replace(
    /&(?:(quot|apos|lt|gt|amp)|#([0-9]{1,7})|#x([0-9a-fA-F]{1,6}));/g,
    (whole, name: string | undefined, decimal: string | undefined, hex: string | undefined) => {
      if (name) return NAMED_ENTITIES[name]!;
      const code = decimal !== undefined ? Number(decimal) : Number.parseInt(hex!, 16);
      return isXmlChar(code) ? String.fromCodePoint(code) : whole;
    },
  );
}

function isXmlChar(code: number): boolean {
  return (
    code === 0x9 ||
    code === 0xa ||
    code === 0xd ||
    (code >= 0x20 && code <= 0xd7ff) ||
    (code >= 0xe000 && code <= 0xfffd) ||
    (code >= 0x10000 && code <= 0x10ffff)
  );
}

/** Text made safe for an XML element. */
function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** The CompleteMultipartUpload body naming each part by its number and the ETag its PUT answered. */
export function completeMultipartXml(parts: { partNumber: number; etag: string }[]): string {
  return `<CompleteMultipartUpload>${parts
    .map((p) => `<Part><PartNumber>${p.partNumber}</PartNumber><ETag>${escapeXml(p.etag)}</ETag></Part>`)
    .join("")}</CompleteMultipartUpload>`;
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
