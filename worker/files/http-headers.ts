// Owns the HTTP details of serving a file: the single-range parser (RFC 9110 §14: anything but one
// satisfiable-looking byte range is ignored and the whole file is served), entity-tag matching for
// If-None-Match / If-Range, RFC 6266 Content-Disposition with a UTF-8 filename* and ASCII fallback,
// and the Repr-Digest field (RFC 9530) from the stored SHA-256.
import type { ByteRange } from "../storage/types.ts";

/**
 * Headers of every answer carrying a file's bytes: they go out exactly as stored. Cloudflare's edge
 * compresses text types (dropping Content-Length, and ETag, Repr-Digest and Content-Range would then
 * describe bytes the client never got) unless Cache-Control says no-transform; the single-box stack's
 * workerd front (Miniflare) compresses them whatever Cache-Control says, unless a Content-Encoding
 * other than gzip or br is already set, so identity says "not encoded" to both.
 */
export const STORED_BYTES_HEADERS = {
  "cache-control": "private, no-cache, no-transform",
  "content-encoding": "identity",
} as const;

/** Past this many digits a position cannot be inside any file; treated as "beyond the end". */
const MAX_DIGITS = 15;

function position(digits: string): number {
  return digits.length > MAX_DIGITS ? Number.MAX_SAFE_INTEGER : Number(digits);
}

/**
 * One byte range, or null to serve the whole representation (no header, another unit, several
 * ranges, or a syntax error). A syntactically valid range past the end still comes back, so the
 * caller answers 416.
 */
export function parseRange(header: string | null): ByteRange | null {
  if (header === null) return null;
  const match = /^\s*bytes\s*=\s*(.*)$/i.exec(header);
  if (!match?.[1]) return null;
  const specs = match[1].split(",").filter((spec) => spec.trim() !== "");
  if (specs.length !== 1 || !specs[0]) return null;
  const range = /^\s*(\d*)\s*-\s*(\d*)\s*$/.exec(specs[0]);
  if (!range) return null;
  const [, first = "", last = ""] = range;
  if (first === "" && last === "") return null;
  if (first === "") return { suffix: position(last) };
  const offset = position(first);
  if (last === "") return { offset };
  const end = position(last);
  if (end < offset) return null;
  return { offset, length: end - offset + 1 };
}

/** The strong entity tag of a file: its SHA-256 in quotes. */
export function entityTag(sha256: string): string {
  return `"${sha256}"`;
}

/** If-None-Match uses weak comparison: W/ prefixes are ignored; `*` matches any existing file. */
export function noneMatch(header: string | null, etag: string): boolean {
  if (header === null) return false;
  return header.split(",").some((tag) => {
    const t = tag.trim();
    return t === "*" || t.replace(/^W\//, "") === etag;
  });
}

/** If-Range needs a strong match; a date (or a weak tag) never matches, so the whole file is sent. */
export function ifRangeAllows(header: string | null, etag: string): boolean {
  return header === null || header.trim() === etag;
}

/** `attachment; filename="r_sum_.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf` */
export function contentDisposition(kind: "attachment" | "inline", name: string): string {
  const fallback = name.replace(/[^\x20-\x7e]|["\\%;]/g, "_").trim() || "download";
  const encoded = encodeURIComponent(name).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `${kind}; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}

/** `sha-256=:<base64 of the digest>:` */
export function reprDigest(sha256: string): string {
  const bytes = sha256.match(/../g)?.map((pair) => Number.parseInt(pair, 16)) ?? [];
  return `sha-256=:${btoa(String.fromCharCode(...bytes))}:`;
}
