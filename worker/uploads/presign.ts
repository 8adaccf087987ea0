// Owns presigned uploads: short-lived, single-use storage URLs per part of the session's multipart
// upload on the storage (one part for a file that fits one chunk), with the headers the browser must
// send, so the bytes go straight to the follower or S3, never through the primary. Each URL is bound
// to the part's exact size, and none addresses the committed file's key.
import { AppError } from "../../shared/errors.ts";
import type { AuthUser } from "../accounts/auth.ts";
import type { PresignedPart } from "../api/uploads.ts";
import type { Services } from "../services.ts";
import { assertPartNumber, partSize } from "./plan.ts";
import { assertOpen, loadSession } from "./sessions.ts";
import { sessionStorage } from "./storage.ts";

/** Long enough for one part on a slow link; the follower bounds it to an hour anyway. */
export const PRESIGN_TTL_SECONDS = 15 * 60;

export async function presignParts(
  services: Services,
  user: AuthUser,
  id: string,
  partNumbers: number[],
): Promise<PresignedPart[]> {
  const session = await loadSession(services, user, id);
  assertOpen(session, services.now());
  if (session.mode !== "presigned") {
    throw new AppError(
      "upload_mode_mismatch",
      "This upload relays through the primary: PUT the parts to it.",
    );
  }
  const wanted = [...new Set(partNumbers)];
  for (const n of wanted) assertPartNumber(session, n);
  const uploadId = session.multipartId;
  if (!uploadId) {
    // A URL for the key itself could replace the file after completion: only parts are handed out.
    throw new AppError("upload_expired", "This upload cannot hand out upload URLs; start a new one.");
  }
  const { driver } = await sessionStorage(services, session);
  const presign = driver.presign;
  if (!presign) throw new AppError("storage_unsupported", "This storage cannot hand out upload URLs.");
  const urls: PresignedPart[] = [];
  for (const n of wanted) {
    const size = partSize(session, session.size, n);
    const signed = await presign({
      method: "PUT",
      key: session.storageKey,
      expiresIn: PRESIGN_TTL_SECONDS,
      size,
      part: { uploadId, partNumber: n },
      // The one part of a file whose digest was declared is the whole file: where the storage checks
      // it (a follower), other bytes are refused at the PUT rather than at completion.
      ...(session.partCount === 1 && session.declaredSha256 ? { sha256: session.declaredSha256 } : {}),
    });
    urls.push({
      part_number: n,
      url: signed.url,
      method: "PUT",
      headers: signed.headers,
      expires_at: signed.expiresAt.toISOString(),
    });
  }
  return urls;
}
