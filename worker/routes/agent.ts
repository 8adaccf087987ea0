// The endpoints a follower agent calls on the primary with its enrollment key (protocol v2, signed
// like the primary's calls to it): how its node is reached, and the WebSocket upgrade of an
// outbound node's channel, which ends in the node's Durable Object.
import { AppError } from "../../shared/errors.ts";
import { paths } from "../../shared/protocol/keys.ts";
import { type AgentConnectivity, agentConnectivitySchema } from "../../shared/protocol/schemas.ts";
import { authenticateAgent } from "../followers/agent-auth.ts";
import { connectChannel } from "../followers/channel.ts";
import { primaryOrigin } from "../http/origin.ts";
import { defineRoute } from "../http/route.ts";

/** A direct agent asks again after this long (a switch to outbound takes effect within it). */
export const DIRECT_POLL_SECONDS = 300;

export const agentRoutes = [
  defineRoute({
    method: "GET",
    path: paths.agentConnectivity,
    access: "public",
    summary: "How this follower node is reached (called by its agent, signed with the node's key)",
    tag: "agent",
    response: agentConnectivitySchema,
    handler: async ({ services, request, headers }): Promise<AgentConnectivity> => {
      headers.set("cache-control", "no-store");
      const { node } = await authenticateAgent(services, request, { claimNonce: true });
      const origin = new URL(primaryOrigin(services, request));
      origin.protocol = origin.protocol === "https:" ? "wss:" : "ws:";
      return {
        connectivity: node.connectivity,
        channel_url: node.connectivity === "outbound" ? `${origin.origin}${paths.agentChannel}` : null,
        poll_seconds: DIRECT_POLL_SECONDS,
      };
    },
  }),

  defineRoute({
    method: "GET",
    path: paths.agentChannel,
    access: "public",
    summary:
      "Open an outbound-only node's channel (WebSocket upgrade by its agent, signed with the node's key)",
    tag: "agent",
    raw: [
      {
        status: 101,
        description:
          "Switching Protocols: the channel is open (binary frames, docs/protocol-v2.md § Channel)",
        headers: { Upgrade: "websocket" },
      },
    ],
    handler: async ({ services, request }) => {
      const { node, nonce } = await authenticateAgent(services, request, { claimNonce: false });
      if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
        throw new AppError("bad_request", "This endpoint takes a WebSocket upgrade.");
      }
      if (node.connectivity !== "outbound") {
        throw new AppError(
          "node_connectivity_direct",
          "This node is direct: the primary dials its base_url.",
        );
      }
      return connectChannel(services.env, node.id, nonce, request);
    },
  }),
];
