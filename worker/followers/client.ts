// Owns how the primary talks to one follower: the signed protocol v2 client built from the node's
// record (secret decrypted only here, never logged or returned), and the gates every network call
// passes first: enrolled, reachable address, and (for object traffic) enabled. It is also where a
// node's connectivity is honoured: an outbound node's calls go through its channel, never base_url.
import { AppError } from "../../shared/errors.ts";
import { createFollowerClient, type FollowerClient } from "../../shared/protocol/client.ts";
import type { followerNodes } from "../db/schema.ts";
import { decryptSecret } from "../secrets.ts";
import type { Services } from "../services.ts";
import { CHANNEL_ORIGIN, channelFetch } from "./channel.ts";

export type NodeRow = typeof followerNodes.$inferSelect;

/** How long the primary waits for a follower's response headers on control-plane calls. */
export const CONTROL_TIMEOUT_MS = 10_000;

export function secretContext(nodeId: string): string {
  return `follower_nodes.secret:${nodeId}`;
}

/** Throws the precise precondition code when the node cannot be called yet. */
export function assertReachable(node: NodeRow): void {
  if (node.enrollmentStatus !== "completed" || !node.keyId || !node.secretEnc) {
    throw new AppError("node_not_enrolled", "The follower node has not completed enrollment.", {
      details: { node_id: node.id },
    });
  }
  if (node.connectivity === "direct" && node.baseUrl === "") {
    throw new AppError("node_no_base_url", "The follower node has no base_url the primary can reach.", {
      details: { node_id: node.id },
    });
  }
}

export async function followerClient(
  services: Services,
  node: NodeRow,
  options: { timeoutMs?: number; streamTimeoutMs?: number } = {},
): Promise<FollowerClient> {
  assertReachable(node);
  const secret = await decryptSecret(services.env.FLOTILLA_SECRET, node.secretEnc!, secretContext(node.id));
  const outbound = node.connectivity === "outbound";
  return createFollowerClient({
    baseUrl: outbound ? CHANNEL_ORIGIN : node.baseUrl,
    keyId: node.keyId!,
    secret,
    fetch: outbound ? channelFetch(services.env, node.id) : services.fetch,
    timeoutMs: options.timeoutMs ?? CONTROL_TIMEOUT_MS,
    streamTimeoutMs: options.streamTimeoutMs,
  });
}

/** A safe one-line reason for an admin (codes and messages only; no secrets, no stack). */
export function reasonOf(error: unknown): string {
  if (error instanceof AppError) return `${error.code}: ${error.message}`;
  return "internal: unexpected error";
}
