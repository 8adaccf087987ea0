// Owns the agent commands an admin is shown with an enrollment token: the follower's single executable
// (`flotilla-agent`, built by `npm run build:agent`) and the same from a Flotilla checkout
// (`npm run agent --`, which runs on the checkout's pinned Node). Both name every setting that must
// differ for a second agent on one machine (data dir, listen address, base_url), with values that work
// as pasted: a data dir named after the node, and the listen address implied by the node's base_url.
export interface AgentCommands {
  command: string;
  commandFromCheckout: string;
  note: string;
}

const DEFAULT_LISTEN = "127.0.0.1:7070";

export const SECOND_AGENT_NOTE =
  "Run both lines on the follower machine, from one directory. A second agent on the same machine needs " +
  "its own --data-dir, --listen port and --base-url (the URL the primary reaches it at; without it, " +
  "presigned modes stay off).";

export function agentCommands(
  primaryOrigin: string,
  token: string,
  node: { name: string; baseUrl: string },
): AgentCommands {
  const dataDir = `data/agent-${slug(node.name)}`;
  const enroll = ["enroll", "--primary", primaryOrigin, "--token", token, "--data-dir", dataDir];
  const start = ["start", "--data-dir", dataDir, "--listen", listenFor(node.baseUrl)];
  if (node.baseUrl) start.push("--base-url", node.baseUrl);
  const lines = (prefix: string) => [enroll, start].map((args) => `${prefix} ${args.map(quote).join(" ")}`);
  return {
    command: lines("flotilla-agent").join("\n"),
    commandFromCheckout: lines("npm run agent --").join("\n"),
    note: SECOND_AGENT_NOTE,
  };
}

/**
 * Where the agent listens for a base_url with an explicit port: that port, on loopback when the primary
 * reaches it on loopback, on every interface otherwise. A base_url on the default port sits behind a
 * reverse proxy, which forwards to the agent's default address.
 */
function listenFor(baseUrl: string): string {
  if (!baseUrl) return DEFAULT_LISTEN;
  const url = new URL(baseUrl);
  if (!url.port) return DEFAULT_LISTEN;
  if (url.hostname === "[::1]") return `[::1]:${url.port}`;
  const loopback = url.hostname === "localhost" || /^127\.\d+\.\d+\.\d+$/.test(url.hostname);
  return `${loopback ? "127.0.0.1" : "0.0.0.0"}:${url.port}`;
}

function slug(name: string): string {
  const text = name
    .normalize("NFKD")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 40)
    .replace(/-+$/, "");
  return text || "follower";
}

/** Shell-quotes a word unless it is made only of characters no shell treats specially. */
function quote(word: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}
