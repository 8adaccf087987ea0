// Owns enrollment on the primary: one-time tokens (random, stored only as a SHA-256 hash, expiring,
// a new one replacing the old) and their redemption by an agent, an atomic single-use claim that
// hands out the node's key id and secret once and stores the secret encrypted at rest.
import { and, eq, gt, sql } from "drizzle-orm";
import { randomId, randomToken, sha256Hex } from "../../shared/crypto.ts";
import { AppError, notFound } from "../../shared/errors.ts";
import { PROTOCOL_VERSION, type RedeemRequest, type RedeemResponse } from "../../shared/protocol/schemas.ts";
import { DEFAULT_ENROLLMENT_TTL_MINUTES, enrollmentStatus } from "../api/nodes.ts";
import { followerNodes } from "../db/schema.ts";
import { encryptSecret } from "../secrets.ts";
import type { Services } from "../services.ts";
import { agentCommands } from "./agent-command.ts";
import { normalizeBaseUrl } from "./base-url.ts";
import { type NodeRow, secretContext } from "./client.ts";
import { recordEvent } from "./events.ts";

export interface IssuedToken {
  token: string;
  expiresAt: Date;
  /** The exact commands to run on the follower machine, and what a second agent must change. */
  command: string;
  commandFromCheckout: string;
  note: string;
}

export async function issueEnrollmentToken(
  services: Services,
  node: NodeRow,
  primaryOrigin: string,
  ttlMinutes = DEFAULT_ENROLLMENT_TTL_MINUTES,
): Promise<IssuedToken> {
  if (node.enrollmentStatus === "completed") {
    throw new AppError(
      "node_already_enrolled",
      "This follower node is already enrolled; delete and re-create it to enroll another agent.",
    );
  }
  const token = randomToken("enr", 32);
  const now = services.now();
  const expiresAt = new Date(now.getTime() + ttlMinutes * 60_000);
  // Overwriting the hash is what makes any earlier token for this node worthless.
  const [written] = await services.db
    .update(followerNodes)
    .set({
      enrollmentTokenHash: await sha256Hex(token),
      enrollmentExpiresAt: expiresAt,
      enrollmentStatus: "pending",
      updatedAt: now,
    })
    .where(and(eq(followerNodes.id, node.id), sql`${followerNodes.enrollmentStatus} <> 'completed'`))
    .returning({ id: followerNodes.id });
  if (!written) throw await notIssuable(services, node.id);
  const recorded = await recordEvent(
    services,
    node.id,
    "info",
    "enrollment",
    `token issued, expires ${expiresAt.toISOString()}`,
  );
  // Deleted between the two statements: the token went with the node.
  if (!recorded) throw notFound("follower node");
  return { token, expiresAt, ...agentCommands(primaryOrigin, token, node) };
}

/** Why no token could be written: the node is gone, or an agent enrolled it meanwhile. */
async function notIssuable(services: Services, nodeId: string): Promise<AppError> {
  const [row] = await services.db
    .select({ status: followerNodes.enrollmentStatus })
    .from(followerNodes)
    .where(eq(followerNodes.id, nodeId));
  if (!row) return notFound("follower node");
  return new AppError(
    "node_already_enrolled",
    "This follower node is already enrolled; delete and re-create it to enroll another agent.",
  );
}

export async function redeemEnrollment(
  services: Services,
  input: RedeemRequest,
  primaryOrigin: string,
): Promise<RedeemResponse> {
  const hash = await sha256Hex(input.token);
  const [node] = await services.db
    .select()
    .from(followerNodes)
    .where(eq(followerNodes.enrollmentTokenHash, hash));
  const now = services.now();
  if (!node) throw invalidToken();
  assertRedeemable(node, now);

  const keyId = `fk_${randomId()}`;
  const secret = randomToken("fns", 32);
  const secretEnc = await encryptSecret(services.env.FLOTILLA_SECRET, secret, secretContext(node.id));
  let agentUrl = "";
  try {
    agentUrl = input.base_url ? normalizeBaseUrl(input.base_url) : "";
  } catch {
    agentUrl = ""; // an unusable address from the agent is ignored; the admin can set one
  }
  // The claim: only one request can move this exact token from pending to completed.
  const claimed = await services.db
    .update(followerNodes)
    .set({
      enrollmentStatus: "completed",
      enrolledAt: now,
      keyId,
      secretEnc,
      baseUrl: sql`CASE WHEN ${followerNodes.baseUrl} = '' THEN ${agentUrl} ELSE ${followerNodes.baseUrl} END`,
      updatedAt: now,
    })
    .where(
      and(
        eq(followerNodes.id, node.id),
        eq(followerNodes.enrollmentTokenHash, hash),
        eq(followerNodes.enrollmentStatus, "pending"),
        gt(followerNodes.enrollmentExpiresAt, now),
      ),
    )
    .returning({ id: followerNodes.id, name: followerNodes.name, enabled: followerNodes.enabled });
  const row = claimed[0];
  if (!row) {
    const [again] = await services.db.select().from(followerNodes).where(eq(followerNodes.id, node.id));
    if (again) assertRedeemable(again, now);
    throw invalidToken();
  }
  await recordEvent(services, node.id, "info", "enrollment", `enrolled agent ${input.agent_version}`);
  return {
    node_id: row.id,
    node_name: row.name,
    primary_origin: primaryOrigin,
    key_id: keyId,
    secret,
    enabled: row.enabled,
    protocol: PROTOCOL_VERSION,
  };
}

function assertRedeemable(node: NodeRow, now: Date): void {
  if (node.enrollmentStatus === "completed") {
    throw new AppError("enrollment_token_used", "This enrollment token has already been used.");
  }
  if (enrollmentStatus(node, now) === "expired" || node.enrollmentStatus !== "pending") {
    throw new AppError("enrollment_token_expired", "This enrollment token has expired; ask for a new one.");
  }
}

function invalidToken(): AppError {
  return new AppError("enrollment_token_invalid", "This enrollment token is not valid.");
}
