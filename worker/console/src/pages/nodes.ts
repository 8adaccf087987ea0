// Owns Admin -> Follower Nodes: the list with each node's status (enabled, enrollment, last Test
// Connection, an outbound node's channel) and the form that creates a node record.
import { api, describe } from "../api.ts";
import { announce, field, formatTime, formData, h, input } from "../dom.ts";
import { navigate, type PageContext } from "../nav.ts";
import type { FollowerNode, ListedNode, NodeChannel } from "../types.ts";

export function nodeStatus(node: ListedNode): { label: string; tone: "ok" | "warn" | "bad" } {
  if (!node.enabled) return { label: "Disabled", tone: "warn" };
  if (node.enrollment.status !== "completed")
    return { label: `Enrollment ${node.enrollment.status}`, tone: "warn" };
  if (node.connectivity === "outbound") {
    if (!node.channel?.connected) return { label: "Channel down", tone: "bad" };
  } else if (!node.base_url) return { label: "No base_url", tone: "warn" };
  if (!node.last_probe) return { label: "Not tested", tone: "warn" };
  return node.last_probe.ok ? { label: "Online", tone: "ok" } : { label: "Test failed", tone: "bad" };
}

export function badge(text: string, tone: "ok" | "warn" | "bad" | "info" = "info"): HTMLElement {
  return h("span", { class: `badge ${tone}` }, text);
}

/** "connected since …, last seen …, agent 0.1.0" or "not connected, last seen …". */
export function channelSummary(channel: NodeChannel | null): string {
  if (!channel) return "no channel binding on this primary";
  const seen = channel.last_seen ? `last seen ${formatTime(channel.last_seen)}` : "never seen";
  const version = channel.agent_version ? `, agent ${channel.agent_version}` : "";
  return channel.connected
    ? `connected since ${formatTime(channel.connected_since)}, ${seen}${version}`
    : `not connected, ${seen}${version}`;
}

function connectivityCell(node: ListedNode): Node {
  if (node.connectivity === "direct") return document.createTextNode("direct");
  return h("span", { "data-testid": "node-channel" }, `outbound: ${channelSummary(node.channel)}`);
}

export async function nodesPage(_ctx: PageContext): Promise<Node> {
  const { nodes } = await api<{ nodes: ListedNode[] }>("GET", "/api/v1/admin/nodes");
  const rows = nodes.map((node) => {
    const status = nodeStatus(node);
    return h(
      "tr",
      {},
      h("th", { scope: "row" }, h("a", { href: `/admin/nodes/${encodeURIComponent(node.id)}` }, node.name)),
      h("td", { "data-label": "Status" }, badge(status.label, status.tone)),
      h("td", { "data-label": "Connectivity" }, connectivityCell(node)),
      h("td", { "data-label": "base_url" }, node.base_url ? h("code", {}, node.base_url) : "(empty)"),
      h("td", { "data-label": "Protocol" }, node.last_good_probe?.capabilities.protocol_version ?? "—"),
      h("td", { "data-label": "Last tested" }, formatTime(node.last_probe?.at)),
    );
  });
  const form = h(
    "form",
    { class: "card", "aria-labelledby": "new-node" },
    h("h2", { id: "new-node" }, "New follower node"),
    field("Name", input("name", { required: true, placeholder: "Follower A" })),
    field(
      "base_url",
      input("base_url", { type: "url", placeholder: "https://follower.example.com" }),
      "An HTTP(S) address the primary can reach. May stay empty until the node is reachable.",
    ),
    h("button", { type: "submit" }, "Create node"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const { name, base_url } = formData(form);
    try {
      const node = await api<FollowerNode>("POST", "/api/v1/admin/nodes", { name, base_url: base_url ?? "" });
      announce(`Follower node "${node.name}" created. Issue an enrollment token next.`);
      navigate(`/admin/nodes/${encodeURIComponent(node.id)}`);
    } catch (error) {
      announce(describe(error), "error");
    }
  });
  return h(
    "section",
    {},
    h("h1", {}, "Follower Nodes"),
    nodes.length === 0
      ? h("p", {}, "No follower nodes yet.")
      : h(
          "table",
          { class: "list" },
          h("caption", { class: "sr-only" }, "Follower nodes"),
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              ["Name", "Status", "Connectivity", "base_url", "Protocol", "Last tested"].map((c) =>
                h("th", { scope: "col" }, c),
              ),
            ),
          ),
          h("tbody", {}, rows),
        ),
    form,
  );
}
