// Owns the naming rules of protocol v2: object keys, ingress target keys, local base paths and the
// URL paths of the agent's endpoints. Both sides validate with these, so a key the primary accepts is
// exactly a key the agent accepts.

/**
 * One path segment: conservative ASCII only. Keys are chosen by the primary (ids, not user file names),
 * so refusing everything else costs nothing and rules out encoded, backslash, NUL and unicode
 * look-alike traversal by construction.
 */
const SEGMENT = /^[A-Za-z0-9._~+=@,-]{1,255}$/;
const MAX_KEY_BYTES = 1024;

/** Reason a key or base path is refused, or null when it is acceptable. */
export function keyProblem(key: string): string | null {
  if (key.length === 0) return "must not be empty";
  if (key.length > MAX_KEY_BYTES) return `must be at most ${MAX_KEY_BYTES} characters`;
  for (const segment of key.split("/")) {
    if (segment === "") return "must not contain empty segments or start or end with '/'";
    if (segment === "." || segment === "..") return "must not contain '.' or '..' segments";
    if (!SEGMENT.test(segment)) return "may only contain A-Z a-z 0-9 and . _ ~ + = @ , - between '/'";
    if (segment.startsWith(".flotilla")) return "must not use the reserved '.flotilla' prefix";
  }
  return null;
}

export function isValidObjectKey(key: string): boolean {
  return keyProblem(key) === null;
}

/** Ingress target keys are stable identifiers chosen by the primary, e.g. "default-local". */
export const TARGET_KEY = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** Percent-encodes each segment of a key for a URL path (the key rules make this the identity today). */
export function encodeKeyPath(key: string): string {
  return key.split("/").map(encodeURIComponent).join("/");
}

export const PROTOCOL_ROOT = "/internal/v2";

export const paths = {
  capabilities: `${PROTOCOL_ROOT}/capabilities`,
  binding: `${PROTOCOL_ROOT}/binding`,
  ingressTargets: `${PROTOCOL_ROOT}/ingress-targets`,
  ingressTarget: (key: string) => `${PROTOCOL_ROOT}/ingress-targets/${encodeURIComponent(key)}`,
  object: (key: string) => `${PROTOCOL_ROOT}/objects/${encodeKeyPath(key)}`,
  copy: `${PROTOCOL_ROOT}/copy`,
  multipart: `${PROTOCOL_ROOT}/multipart`,
  multipartUpload: (id: string) => `${PROTOCOL_ROOT}/multipart/${encodeURIComponent(id)}`,
  multipartParts: (id: string) => `${PROTOCOL_ROOT}/multipart/${encodeURIComponent(id)}/parts`,
  multipartPart: (id: string, part: number) =>
    `${PROTOCOL_ROOT}/multipart/${encodeURIComponent(id)}/parts/${part}`,
  multipartComplete: (id: string) => `${PROTOCOL_ROOT}/multipart/${encodeURIComponent(id)}/complete`,
  pulls: `${PROTOCOL_ROOT}/pulls`,
  pull: (id: string) => `${PROTOCOL_ROOT}/pulls/${encodeURIComponent(id)}`,
  health: "/health",
  ready: "/health/ready",
  metrics: "/metrics",
  /** On the primary, not the agent. */
  enrollmentRedeem: "/api/v1/enrollment/redeem",
  /** Agent -> primary, signed with the node's key: how is this node reached? */
  agentConnectivity: "/api/v2/agent/connectivity",
  /** Agent -> primary, signed: the WebSocket upgrade of an outbound node's channel. */
  agentChannel: "/api/v2/agent/channel",
} as const;
