// Owns how a WebDAV refusal is answered: the status of its code (with the few codes WebDAV answers
// differently, e.g. a missing parent is 409), the machine-readable code in `X-Flotilla-Error` always,
// and the body: the RFC's `<D:error>` with its precondition element where RFC 4918 names one, the
// one JSON error envelope otherwise. 401 carries the Basic challenge.
import { type AppError, errorResponse } from "../../shared/errors.ts";
import { escapeXml, xmlResponse } from "./xml.ts";

export const DAV_REALM = 'Basic realm="Flotilla WebDAV", charset="UTF-8"';

/** Refusals with a precondition element of RFC 4918 §16. */
function precondition(error: AppError): string | null {
  switch (error.code) {
    case "locked": {
      const root = (error.details as { lock_root?: string } | undefined)?.lock_root;
      return `<D:lock-token-submitted>${root ? `<D:href>${escapeXml(root)}</D:href>` : ""}</D:lock-token-submitted>`;
    }
    case "depth_infinity_refused":
      return "<D:propfind-finite-depth/>";
    case "lock_token_mismatch":
      return "<D:lock-token-matches-request-uri/>";
    default:
      return null;
  }
}

export function davErrorResponse(error: AppError, requestId: string): Response {
  const headers: Record<string, string> = { "x-flotilla-error": error.code, "x-request-id": requestId };
  if (error.status === 401) headers["www-authenticate"] = DAV_REALM;
  const element = precondition(error);
  if (element) {
    const response = xmlResponse(`<D:error xmlns:D="DAV:">${element}</D:error>`, error.status, headers);
    for (const [name, value] of Object.entries(error.headers)) response.headers.set(name, value);
    return response;
  }
  return errorResponse(error, requestId, headers);
}
