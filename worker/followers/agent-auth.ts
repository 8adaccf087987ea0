// Owns authenticating the calls an agent makes to the primary (asking its connectivity, opening its
// channel): the request is signed with the node's enrollment key exactly as the primary signs its own
// calls to the agent (shared/protocol/signing.ts), verified against the node's stored secret before
// anything else happens, and its nonce is remembered for the replay window by the node's channel
// object, which outlives any one request.
import { eq } from "drizzle-orm";
import { AppError } from "../../shared/errors.ts";
import { NONCE_HEADER, NonceCache, verifyBodyHash, verifyRequest } from "../../shared/protocol/signing.ts";
import { followerNodes } from "../db/schema.ts";
import { decryptSecret } from "../secrets.ts";
import type { Services } from "../services.ts";
import { claimAgentNonce } from "./channel.ts";
import { type NodeRow, secretContext } from "./client.ts";

const KEY_ID_RE = /Credential=([^/,\s]+)\//;

export interface AgentCaller {
  node: NodeRow;
  nonce: string;
}

/** Verifies a signed agent request; `claimNonce: false` leaves the nonce to the caller (the upgrade). */
export async function authenticateAgent(
  services: Services,
  request: Request,
  options: { claimNonce: boolean },
): Promise<AgentCaller> {
  const keyId = KEY_ID_RE.exec(request.headers.get("authorization") ?? "")?.[1];
  if (!keyId) throw new AppError("auth_missing", "The request is not signed.");
  const [node] = await services.db.select().from(followerNodes).where(eq(followerNodes.keyId, keyId));
  if (node?.enrollmentStatus !== "completed" || !node.secretEnc) {
    throw new AppError("auth_unknown_key", "The signing key is not known to this primary.");
  }
  const secret = await decryptSecret(services.env.FLOTILLA_SECRET, node.secretEnc, secretContext(node.id));
  const url = new URL(request.url);
  const verified = await verifyRequest({
    method: request.method,
    path: url.pathname + url.search,
    headers: request.headers,
    lookupSecret: (id) => (id === node.keyId ? secret : undefined),
    // Signature and clock only here: the nonce is claimed in the node's object below.
    nonces: new NonceCache(1),
    now: services.now(),
    allowUnsignedPayload: false,
  });
  await verifyBodyHash(new Uint8Array(await request.arrayBuffer()), verified.contentSha256);
  const nonce = request.headers.get(NONCE_HEADER) ?? "";
  if (options.claimNonce) await claimAgentNonce(services.env, node.id, nonce);
  return { node, nonce };
}
