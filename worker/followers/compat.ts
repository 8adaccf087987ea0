// Owns compatibility between the primary and a follower's capability document: protocol v2 inside
// the follower's supported range, the features every remote policy needs, and for presigned modes the
// browser CORS headers the tutorial lists. Returns readable problems; empty means compatible.
import { BROWSER_CORS, type Capabilities, PROTOCOL_VERSION } from "../../shared/protocol/schemas.ts";

export interface TransferModes {
  uploadMode: "relay_stream" | "presigned";
  downloadMode: "relay_stream" | "presigned";
}

export interface Requirements {
  /** At least one remote policy uses the node (object traffic must work). */
  objects: boolean;
  presignedUpload: boolean;
  presignedDownload: boolean;
}

export function requirementsOf(policies: TransferModes[]): Requirements {
  return {
    objects: policies.length > 0,
    presignedUpload: policies.some((p) => p.uploadMode === "presigned"),
    presignedDownload: policies.some((p) => p.downloadMode === "presigned"),
  };
}

const versionNumber = (v: string) => Number(/^v(\d+)$/i.exec(v.trim())?.[1] ?? Number.NaN);

const lacks = (have: readonly string[], need: readonly string[]) => {
  const set = new Set(have.map((h) => h.toLowerCase()));
  return need.filter((n) => !set.has(n.toLowerCase()));
};

export function compatibilityProblems(caps: Capabilities, need: Requirements): string[] {
  const problems: string[] = [];
  const ours = versionNumber(PROTOCOL_VERSION);
  const min = versionNumber(caps.protocol_min);
  const max = versionNumber(caps.protocol_max);
  if (!(min <= ours && ours <= max)) {
    problems.push(
      `protocol incompatible: the primary speaks ${PROTOCOL_VERSION}, the follower declares ${caps.protocol_min}-${caps.protocol_max}`,
    );
  }
  if (need.objects) {
    for (const feature of ["ranges", "sha256", "multipart"] as const) {
      if (!caps.features[feature]) problems.push(`feature ${feature} is required by remote policies`);
    }
  }
  if (need.presignedUpload || need.presignedDownload) {
    if (!caps.features.presigned || !caps.features.browser_presigned_cors) {
      problems.push("browser_presigned_cors is required by presigned upload or download modes");
    }
  }
  if (need.presignedUpload) {
    const allowed = lacks(caps.browser_cors.allowed_headers, ["content-type"]);
    const exposed = lacks(caps.browser_cors.exposed_headers_put, BROWSER_CORS.exposed_headers_put);
    if (allowed.length)
      problems.push(`presigned upload needs allowed request headers: ${allowed.join(", ")}`);
    if (exposed.length) problems.push(`presigned upload needs exposed PUT headers: ${exposed.join(", ")}`);
  }
  if (need.presignedDownload) {
    const allowed = lacks(caps.browser_cors.allowed_headers, ["range"]);
    const exposed = lacks(caps.browser_cors.exposed_headers_get, [
      "Accept-Ranges",
      "Content-Range",
      "Content-Length",
    ]);
    if (allowed.length)
      problems.push(`presigned download needs allowed request headers: ${allowed.join(", ")}`);
    if (exposed.length) problems.push(`presigned download needs exposed GET headers: ${exposed.join(", ")}`);
  }
  return problems;
}
