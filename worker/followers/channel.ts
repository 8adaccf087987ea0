// Owns the primary's side of an outbound-only follower's channel, as the rest of the worker sees it:
// the fetch that hands a signed protocol v2 request to the node's Durable Object (which carries it
// over the agent's WebSocket), closing the channel when the node turns direct, and reading its
// state for the node page and Test Connection. The object itself is channel-object.ts.
import type { DurableObjectStub } from "@cloudflare/workers-types";
import { AppError } from "../../shared/errors.ts";
import type { CLOSE } from "../../shared/protocol/channel.ts";
import { type NodeChannelState, nodeChannelStateSchema } from "../../shared/protocol/schemas.ts";
import type { Env } from "../env.ts";
import type { Services } from "../services.ts";

/** The origin a channel request carries; only its path and query reach the agent. */
export const CHANNEL_ORIGIN = "https://flotilla-channel";
/** The object's own endpoints, beside the carried requests (which are under /internal/). */
export const OBJECT_PATHS = {
  connect: "/_channel/connect",
  nonce: "/_channel/nonce",
  state: "/_channel/state",
  close: "/_channel/close",
} as const;

function stubOf(env: Env, nodeId: string): DurableObjectStub {
  const namespace = env.FOLLOWER_CHANNEL;
  if (!namespace) {
    throw new AppError("channel_not_connected", "This primary has no channel binding (FOLLOWER_CHANNEL).", {
      details: { node_id: nodeId },
    });
  }
  return namespace.get(namespace.idFromName(nodeId));
}

/** Sends a request to the node's object; workers-types and the DOM lib declare Request apart. */
async function toObject(env: Env, nodeId: string, request: Request): Promise<Response> {
  const stub = stubOf(env, nodeId);
  return (await stub.fetch(request as never)) as unknown as Response;
}

/** A fetch for the follower client: every call goes to the node's object instead of base_url. */
export function channelFetch(env: Env, nodeId: string): typeof fetch {
  return (input, init) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    return toObject(env, nodeId, new Request(`${CHANNEL_ORIGIN}${url.pathname}${url.search}`, request));
  };
}

/** Hands the agent's verified upgrade request to the object, which remembers its nonce. */
export function connectChannel(env: Env, nodeId: string, nonce: string, request: Request): Promise<Response> {
  const headers = new Headers(request.headers);
  headers.set("x-flotilla-verified-nonce", nonce);
  return toObject(env, nodeId, new Request(`${CHANNEL_ORIGIN}${OBJECT_PATHS.connect}`, { headers }));
}

/** Claims a verified agent request's nonce in the object (replay window survives restarts). */
export async function claimAgentNonce(env: Env, nodeId: string, nonce: string): Promise<void> {
  const response = await toObject(
    env,
    nodeId,
    new Request(`${CHANNEL_ORIGIN}${OBJECT_PATHS.nonce}`, { method: "POST", body: nonce }),
  );
  if (response.status === 409)
    throw new AppError("auth_replayed_nonce", "This request was already received.");
  if (!response.ok) throw new AppError("internal", "The channel object did not record the request.");
}

/** Best effort: the node turned direct (or was deleted); the agent learns it from the close code. */
export async function closeChannel(
  services: Services,
  nodeId: string,
  reason: keyof typeof CLOSE,
): Promise<void> {
  if (!services.env.FOLLOWER_CHANNEL) return;
  try {
    const response = await toObject(
      services.env,
      nodeId,
      new Request(`${CHANNEL_ORIGIN}${OBJECT_PATHS.close}?reason=${reason}`, { method: "POST" }),
    );
    await response.body?.cancel();
  } catch (error) {
    services.log.warn("channel_close_failed", { node_id: nodeId, error: String(error) });
  }
}

/** The channel's state; null when this primary runs without the binding. */
async function channelState(services: Services, nodeId: string): Promise<NodeChannelState | null> {
  if (!services.env.FOLLOWER_CHANNEL) return null;
  const response = await toObject(
    services.env,
    nodeId,
    new Request(`${CHANNEL_ORIGIN}${OBJECT_PATHS.state}`),
  );
  return nodeChannelStateSchema.parse(await response.json());
}

/** An outbound node's channel state for the node pages; null for a direct node. */
export function nodeChannel(
  services: Services,
  node: { id: string; connectivity: string },
): Promise<NodeChannelState | null> {
  return node.connectivity === "outbound" ? channelState(services, node.id) : Promise.resolve(null);
}
