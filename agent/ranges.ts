// Owns the reading of Range, If-Range and If-None-Match for object GETs (RFC 9110). One byte range is
// served; a `bytes=` header that is malformed, asks for several ranges or cannot be satisfied is a 416
// with `Content-Range: bytes */size` (a clear error for a client bug); other units are ignored.
import { AppError } from "../shared/errors.ts";
import type { ByteRange } from "./store/types.ts";

function unsatisfiable(size: number, message: string): AppError {
  return new AppError("range_not_satisfiable", message, { headers: { "content-range": `bytes */${size}` } });
}

/** The byte range to serve, or null for the whole object. */
export function parseRange(header: string | null, size: number): ByteRange | null {
  if (header === null) return null;
  const value = header.trim();
  if (!/^bytes=/i.test(value)) return null;
  const spec = value.slice(6).trim();
  if (spec.includes(",")) throw unsatisfiable(size, "Multiple ranges are not supported.");
  const match = /^(\d{0,16})-(\d{0,16})$/.exec(spec);
  if (!match || (match[1] === "" && match[2] === ""))
    throw unsatisfiable(size, "The Range header is malformed.");
  const [, first = "", last = ""] = match;
  if (first === "") {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) throw unsatisfiable(size, "The range is outside the object.");
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  const end = last === "" ? size - 1 : Math.min(Number(last), size - 1);
  if (last !== "" && Number(last) < start) throw unsatisfiable(size, "The Range header is malformed.");
  if (start >= size) throw unsatisfiable(size, "The range is outside the object.");
  return { start, end };
}

/** RFC 9110 §13.1.2: If-None-Match matches when any listed tag (weak comparison) or `*` matches. */
export function noneMatch(header: string | null, etag: string | null): boolean {
  if (header === null || etag === null) return false;
  if (header.trim() === "*") return true;
  const bare = etag.replace(/^W\//, "");
  return header.split(",").some((tag) => tag.trim().replace(/^W\//, "") === bare);
}

/** RFC 9110 §13.1.5: the Range applies only when If-Range is absent or strongly matches the ETag. */
export function rangeApplies(ifRange: string | null, etag: string | null): boolean {
  if (ifRange === null) return true;
  return etag !== null && !ifRange.startsWith("W/") && ifRange.trim() === etag;
}
