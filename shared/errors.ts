// Owns the one error vocabulary of Flotilla: the closed list of machine-readable codes, their HTTP
// statuses, the AppError class and the JSON envelope every refusal is answered with (primary and agent).
import { z } from "zod";

/**
 * Every code either side may answer with, and its HTTP status. Add codes in the section of the side
 * that raises them; the map is exhaustive by construction (ErrorCode is derived from it).
 */
export const errorStatus = {
  // common
  bad_request: 400,
  validation_failed: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  payload_too_large: 413,
  rate_limited: 429,
  /** The client went away before its answer (nginx's 499): nobody reads it, and it is no failure. */
  client_closed_request: 499,
  internal: 500,
  service_unavailable: 503,

  // primary (worker)
  database_unavailable: 503,
  range_not_satisfiable: 416,
  content_length_mismatch: 400,
  content_digest_mismatch: 400,
  storage_unavailable: 502,
  storage_rejected: 502,
  storage_unsupported: 501,
  node_in_use: 409,
  node_disabled: 412,
  node_not_enrolled: 412,
  node_no_base_url: 412,
  node_never_tested: 412,
  node_incompatible: 412,
  node_already_enrolled: 409,
  follower_unreachable: 502,
  /** An outbound-only node's channel is not open (the agent is not connected to the primary). */
  channel_not_connected: 502,
  /** The agent asked for a channel, but its node is direct: the primary dials its base_url. */
  node_connectivity_direct: 409,
  /** A presigned mode needs browsers to reach the node, and an outbound-only node cannot be reached. */
  presign_needs_direct_node: 422,
  /** A node cannot turn outbound-only while a presigned policy sends browsers to its base_url. */
  node_has_presigned_policies: 409,
  follower_error: 502,
  enrollment_token_invalid: 401,
  enrollment_token_expired: 410,
  enrollment_token_used: 410,
  ingress_default_required: 409,
  ingress_default_in_use: 409,
  policy_in_use: 409,
  config_invalid: 500,
  invalid_credentials: 401,
  session_expired: 401,
  account_disabled: 403,
  origin_mismatch: 403,
  admin_required: 403,
  last_admin: 409,
  username_taken: 409,
  name_taken: 409,
  policy_group_default_required: 409,
  policy_rule_conflict: 409,
  policy_group_disabled: 422,
  no_policy_group: 422,
  no_matching_policy: 422,
  policy_group_in_use: 409,
  name_conflict: 409,
  name_invalid: 400,
  folder_cycle: 409,
  preview_unsupported: 415,
  share_not_found: 404,
  share_expired: 410,
  share_revoked: 410,
  share_exhausted: 410,
  share_locked: 401,
  share_password_invalid: 401,
  file_too_large: 413,
  upload_expired: 410,
  upload_closed: 409,
  upload_mode_mismatch: 409,
  upload_part_invalid: 400,
  upload_part_size_mismatch: 400,
  upload_part_busy: 409,
  upload_parts_missing: 409,
  upload_completing: 409,
  upload_etag_required: 400,
  app_password_read_only: 403,
  locked: 423,
  lock_token_mismatch: 409,
  parent_not_found: 409,
  media_type_unsupported: 415,
  depth_infinity_refused: 403,
  destination_foreign: 502,
  move_same_target: 409,
  move_conflict: 409,
  move_target_unavailable: 409,
  move_target_full: 409,
  move_job_closed: 409,

  // follower (agent)
  agent_not_enrolled: 412,
  agent_already_enrolled: 409,
  auth_missing: 401,
  auth_malformed: 401,
  auth_unknown_key: 401,
  auth_clock_skew: 401,
  auth_replayed_nonce: 401,
  auth_bad_signature: 401,
  auth_body_hash_mismatch: 401,
  presign_expired: 401,
  presign_ttl_too_long: 401,
  presign_ticket_used: 409,
  presign_mismatch: 400,
  cors_origin_forbidden: 403,
  binding_disabled: 412,
  ingress_target_not_found: 404,
  ingress_revision_stale: 409,
  ingress_path_invalid: 400,
  ingress_default_missing: 412,
  ingress_default_not_applied: 412,
  object_key_invalid: 400,
  object_not_found: 404,
  object_too_large: 413,
  length_required: 411,
  precondition_failed: 412,
  storage_full: 507,
  multipart_not_found: 404,
  multipart_invalid: 400,
  follower_timeout: 504,
  request_headers_too_large: 431,
  request_timeout: 408,
  pull_not_found: 404,
  pull_source_unreachable: 502,
  pull_source_refused: 502,
} as const satisfies Record<string, number>;

export type ErrorCode = keyof typeof errorStatus;

export const errorEnvelopeSchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    request_id: z.string(),
    details: z.unknown().optional(),
  }),
});
export type ErrorEnvelope = z.infer<typeof errorEnvelopeSchema>;

export interface AppErrorOptions {
  /** Safe, client-facing structured detail (field issues, which check failed). Never secrets. */
  details?: unknown;
  /** Headers to add to the error response (e.g. Retry-After, Content-Range). */
  headers?: Record<string, string>;
  cause?: unknown;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: unknown;
  readonly headers: Record<string, string>;

  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "AppError";
    this.code = code;
    this.status = errorStatus[code];
    this.details = options.details;
    this.headers = options.headers ?? {};
  }
}

/** The one wording of a missing resource: `No such ${what}.` with code not_found. */
export function notFound(what: string): AppError {
  return new AppError("not_found", `No such ${what}.`);
}

/** Turns a zod failure into the validation envelope's details: where and what, never the input. */
export function zodDetails(error: z.ZodError): { path: string; message: string }[] {
  return error.issues.map((issue) => ({ path: issue.path.join("."), message: issue.message }));
}

/**
 * Maps anything thrown to an AppError. Unknown errors become a generic 500 whose message reveals
 * nothing; the caller logs the original with its cause.
 */
export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  if (error instanceof z.ZodError) {
    return new AppError("validation_failed", "The request is not valid.", { details: zodDetails(error) });
  }
  return new AppError("internal", "Internal error.", { cause: error });
}

export function errorBody(error: AppError, requestId: string): ErrorEnvelope {
  const body: ErrorEnvelope = { error: { code: error.code, message: error.message, request_id: requestId } };
  if (error.details !== undefined) body.error.details = error.details;
  return body;
}

export function errorResponse(error: AppError, requestId: string, extraHeaders?: HeadersInit): Response {
  const headers = new Headers(extraHeaders);
  headers.set("content-type", "application/json; charset=utf-8");
  headers.set("x-request-id", requestId);
  for (const [name, value] of Object.entries(error.headers)) headers.set(name, value);
  return new Response(JSON.stringify(errorBody(error, requestId)), { status: error.status, headers });
}
