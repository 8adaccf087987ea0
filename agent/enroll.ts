// Owns enrollment on the agent side: redeem the one-time token at the primary (shared schemas), then store
// node id, primary origin and credentials in the 0600 state file. Refuses to replace an enrollment
// unless forced; a forced enrollment for another node forgets the old node's targets (not their data).
import { AppError, type ErrorCode, errorEnvelopeSchema, errorStatus } from "../shared/errors.ts";
import { paths } from "../shared/protocol/keys.ts";
import { PROTOCOL_VERSION, type RedeemRequest, redeemResponseSchema } from "../shared/protocol/schemas.ts";
import type { Enrollment, StateFile } from "./state.ts";

export interface EnrollInput {
  state: StateFile;
  primaryUrl: string;
  token: string;
  baseUrl: string | null;
  version: string;
  force?: boolean;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

export async function enroll(input: EnrollInput): Promise<Enrollment> {
  const current = input.state.current.enrollment;
  if (current && !input.force) {
    throw new AppError(
      "agent_already_enrolled",
      `This agent is already enrolled as node ${current.node_id} of ${current.primary_origin}; use --force to replace it.`,
    );
  }
  let primary: URL;
  try {
    primary = new URL(input.primaryUrl);
  } catch {
    throw new AppError("validation_failed", "The primary URL is not a URL.");
  }
  const body: RedeemRequest = {
    token: input.token,
    base_url: input.baseUrl,
    agent_version: input.version,
    protocol: PROTOCOL_VERSION,
  };
  const endpoint = primary.toString().replace(/\/+$/, "") + paths.enrollmentRedeem;
  let response: Response;
  try {
    response = await (input.fetch ?? fetch)(endpoint, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(input.timeoutMs ?? 15_000),
    });
  } catch (cause) {
    throw new AppError("service_unavailable", `The primary at ${primary.origin} could not be reached.`, {
      cause,
    });
  }
  const payload: unknown = await response.json().catch(() => null);
  if (!response.ok) {
    const envelope = errorEnvelopeSchema.safeParse(payload);
    const code = envelope.success ? envelope.data.error.code : "";
    const message = envelope.success ? envelope.data.error.message : `HTTP ${response.status}`;
    const known = code in errorStatus ? (code as ErrorCode) : "bad_request";
    throw new AppError(known, `The primary refused the enrollment: ${message}`);
  }
  const redeemed = redeemResponseSchema.parse(payload);
  const enrollment: Enrollment = {
    node_id: redeemed.node_id,
    node_name: redeemed.node_name,
    primary_origin: new URL(redeemed.primary_origin).origin,
    primary_url: primary.origin,
    key_id: redeemed.key_id,
    secret: redeemed.secret,
    enrolled_at: new Date().toISOString(),
  };
  await input.state.update((state) => {
    if (state.enrollment && state.enrollment.node_id !== enrollment.node_id) state.targets = {};
    state.enrollment = enrollment;
    state.binding = { name: redeemed.node_name, enabled: redeemed.enabled, revision: 0 };
  });
  return enrollment;
}
