// Owns Admin -> Follower Nodes -> Node Details: the record (name, base_url, enabled), enrollment
// token with the agent command to copy, Test Connection and its result, the primary-managed ingress
// targets, and the routine-maintenance view (tutorial §11). Every action re-renders from the API.
import { api, describe } from "../api.ts";
import { announce, checked, field, formatBytes, formatTime, formData, h, input, select } from "../dom.ts";
import { navigate, type PageContext } from "../nav.ts";
import type {
  CapabilitySummary,
  EnrollmentToken,
  NodeChannel,
  NodeDetails,
  Readiness,
  TestResult,
} from "../types.ts";
import { act } from "./act.ts";
import { ingressTargetsSection } from "./ingress-targets.ts";
import { badge, channelSummary, nodeStatus } from "./nodes.ts";

function yesNo(value: boolean | undefined): HTMLElement {
  return badge(value ? "yes" : "no", value ? "ok" : "warn");
}

export function capabilityList(
  caps: CapabilitySummary,
  targets: { key: string; name: string }[],
): HTMLElement {
  const defaultName = targets.find((t) => t.key === caps.default_target)?.name ?? caps.default_target;
  const features = Object.entries(caps.features).map(([name, on]) =>
    h("li", {}, h("code", {}, name), " ", yesNo(on)),
  );
  return h(
    "dl",
    { class: "facts" },
    h("dt", {}, "Protocol version"),
    h(
      "dd",
      { "data-testid": "protocol-version" },
      caps.protocol_version,
      ` (supported ${caps.protocol_range})`,
    ),
    h("dt", {}, "Server version"),
    h("dd", { "data-testid": "server-version" }, caps.server_version),
    h("dt", {}, "Capability summary"),
    h("dd", {}, h("ul", { class: "inline" }, features)),
    h("dt", {}, "Browser CORS (presigned)"),
    h(
      "dd",
      { "data-testid": "allowed-origins" },
      `allowed origins: ${caps.browser_cors.allowed_origins.join(", ") || "none (the follower accepts no browser origin)"}`,
    ),
    h(
      "dd",
      {},
      `request headers: ${caps.browser_cors.allowed_headers.join(", ") || "none"}; exposed on GET: ${
        caps.browser_cors.exposed_headers_get.join(", ") || "none"
      }; exposed on PUT: ${caps.browser_cors.exposed_headers_put.join(", ") || "none"}`,
    ),
    caps.features.browser_presigned_cors
      ? null
      : h(
          "dd",
          { class: "hint" },
          "presigned is not offered: the follower does not know its own base_url (set [server] base_url in its config or FLOTILLA_AGENT_BASE_URL).",
        ),
    h("dt", {}, "Default ingress target"),
    h("dd", {}, defaultName ?? "none"),
  );
}

function connectionSection(ctx: PageContext, node: NodeDetails): HTMLElement {
  const form = h(
    "form",
    { "aria-labelledby": "conn-title" },
    field("Name", input("name", { value: node.name, required: true })),
    field(
      "base_url",
      input("base_url", { type: "url", value: node.base_url }),
      "An HTTP(S) address the primary can access (and browsers too, for presigned).",
    ),
    field(
      "Connectivity",
      select(
        "connectivity",
        [
          ["direct", "direct: the primary dials base_url"],
          ["outbound", "outbound: the follower connects to the primary (behind NAT)"],
        ],
        node.connectivity,
      ),
      "An outbound node keeps a channel open to the primary; its policies relay (browsers cannot reach it, so presigned is refused). The agent picks up a change within 5 minutes, or at its next start.",
    ),
    h(
      "label",
      { class: "check" },
      h("input", { type: "checkbox", name: "enabled", checked: node.enabled }),
      " Enabled",
    ),
    h("button", { type: "submit" }, "Save node"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const values = formData(form);
    void act(ctx, async () => {
      const saved = await api<{ binding_sync: { state: string; reason: string | null } }>(
        "PATCH",
        `/api/v1/admin/nodes/${node.id}`,
        {
          name: values.name,
          base_url: values.base_url ?? "",
          enabled: checked(form, "enabled"),
          connectivity: values.connectivity,
        },
      );
      const sync = saved.binding_sync;
      return `Node saved (follower binding ${sync.state}${sync.reason ? `: ${sync.reason}` : ""}).`;
    })();
  });
  return h(
    "section",
    { class: "card", "aria-labelledby": "conn-title" },
    h("h2", { id: "conn-title" }, "Node"),
    form,
  );
}

function enrollmentSection(_ctx: PageContext, node: NodeDetails): HTMLElement {
  const output = h("div", { class: "enroll-output" });
  const issue = async () => {
    try {
      const issued = await api<EnrollmentToken>(
        "POST",
        `/api/v1/admin/nodes/${node.id}/enrollment-token`,
        {},
      );
      const copy = (text: string, what: string) => async () => {
        try {
          await navigator.clipboard.writeText(text);
          announce(`${what} copied.`);
        } catch {
          announce("Copying is not allowed here; select the command and copy it by hand.", "error");
        }
      };
      output.replaceChildren(
        h(
          "p",
          {},
          "Run these two lines on the follower machine with the flotilla-agent executable (",
          h("code", {}, "npm run build:agent"),
          " makes it) on its PATH. The token is shown once and expires ",
          formatTime(issued.expires_at),
          ".",
        ),
        h("pre", {}, h("code", { id: "enroll-command" }, issued.command)),
        h("button", { type: "button", onclick: copy(issued.command, "Agent command") }, "Copy agent command"),
        h("p", { class: "hint", id: "enroll-note" }, issued.note),
        h("p", {}, "Or from a Flotilla checkout (after npm ci):"),
        h("pre", {}, h("code", { id: "enroll-command-checkout" }, issued.command_from_checkout)),
        h(
          "button",
          {
            type: "button",
            class: "secondary",
            onclick: copy(issued.command_from_checkout, "Checkout command"),
          },
          "Copy checkout command",
        ),
      );
      announce("Enrollment token created. It replaces any earlier token for this node.");
    } catch (error) {
      announce(describe(error), "error");
    }
  };
  const done = node.enrollment.status === "completed";
  return h(
    "section",
    { class: "card", "aria-labelledby": "enroll-title" },
    h("h2", { id: "enroll-title" }, "Enrollment"),
    h(
      "p",
      {},
      "Status: ",
      badge(node.enrollment.status, done ? "ok" : "warn"),
      done ? ` (enrolled ${formatTime(node.enrollment.enrolled_at)})` : "",
    ),
    done
      ? h("p", { class: "hint" }, "Enrollment is complete: the primary and follower identities are bound.")
      : h("button", { type: "button", onclick: issue }, "Create enrollment token"),
    output,
  );
}

function testSection(ctx: PageContext, node: NodeDetails): HTMLElement {
  const probe = node.last_probe;
  const run = act(ctx, async () => {
    const result = await api<TestResult>("POST", `/api/v1/admin/nodes/${node.id}/test`);
    const ready = result.readiness ? ` Follower: ${readinessSummary(result.readiness)}.` : "";
    const channel = result.channel
      ? ` Channel ${channelSummary(result.channel)}, ${result.channel.reconnects} reconnects, ${formatBytes(result.channel.bytes_in + result.channel.bytes_out)} carried${result.channel.last_error ? `; last error: ${result.channel.last_error}` : ""}.`
      : "";
    return `Test Connection succeeded over ${result.path === "channel" ? "the follower's channel" : "base_url"}: protocol ${result.protocol_version}, server ${result.server_version}.${channel}${ready}`;
  });
  return h(
    "section",
    { class: "card", "aria-labelledby": "test-title" },
    h("h2", { id: "test-title" }, "Test Connection"),
    h("button", { type: "button", onclick: run }, "Test Connection"),
    h(
      "div",
      { id: "test-result" },
      probe
        ? [
            h(
              "p",
              {},
              "Result: ",
              badge(probe.ok ? "Succeeded" : "Failed", probe.ok ? "ok" : "bad"),
              " at ",
              formatTime(probe.at),
            ),
            probe.error
              ? h("p", { class: "status error" }, "Last error: ", probe.error)
              : h("p", {}, "Last error: none"),
            probe.readiness
              ? h("p", { "data-testid": "test-readiness" }, "Follower: ", readinessSummary(probe.readiness))
              : null,
            probe.capabilities ? capabilityList(probe.capabilities, node.ingress_targets) : null,
          ]
        : h("p", {}, "Not tested yet."),
    ),
  );
}

/** An outbound node's channel as the primary sees it now (the agent opens it; nothing dials base_url). */
function channelSection(channel: NodeChannel | null): HTMLElement {
  const facts = channel
    ? [
        h("dt", {}, "State"),
        h(
          "dd",
          { "data-testid": "channel-state" },
          badge(channel.connected ? "connected" : "not connected", channel.connected ? "ok" : "bad"),
        ),
        h("dt", {}, "Connected since"),
        h("dd", {}, channel.connected ? formatTime(channel.connected_since) : "—"),
        h("dt", {}, "Last seen"),
        h("dd", { "data-testid": "channel-last-seen" }, formatTime(channel.last_seen)),
        h("dt", {}, "Agent version"),
        h("dd", { "data-testid": "channel-agent-version" }, channel.agent_version ?? "not named"),
        h("dt", {}, "Reconnects"),
        h("dd", {}, String(channel.reconnects)),
        h("dt", {}, "Carried"),
        h(
          "dd",
          {},
          `${formatBytes(channel.bytes_in)} to the follower, ${formatBytes(channel.bytes_out)} from it`,
        ),
        h("dt", {}, "Last error"),
        h(
          "dd",
          {},
          channel.last_error ? `${channel.last_error} (${formatTime(channel.last_error_at)})` : "none",
        ),
      ]
    : [h("dd", {}, "This primary has no channel binding (FOLLOWER_CHANNEL).")];
  return h(
    "section",
    { class: "card", "aria-labelledby": "channel-title" },
    h("h2", { id: "channel-title" }, "Channel"),
    h("dl", { class: "facts" }, facts),
  );
}

/**
 * What the follower's /health/ready says, in the tutorial's words: the follower is ready before §2
 * creates its default ingress target, and says so.
 */
export function readinessSummary(readiness: Readiness): string {
  const failing = (checks: Readiness["checks"]) =>
    checks
      .filter((c) => !c.ok)
      .map((c) => `${c.name}${c.reason ? ` (${c.reason})` : ""}`)
      .join(", ");
  if (readiness.status !== "ready") return `not ready: ${failing(readiness.checks)}`;
  const target = readiness.default_target;
  if (!target || target.ok) return "ready";
  const missing = target.checks.find(
    (c) => c.name === "default_target_applied" && !c.ok && /^No default/.test(c.reason ?? ""),
  );
  if (missing) return "ready; no default ingress target yet: create one (§2)";
  return `ready; default ingress target not usable: ${failing(target.checks)}`;
}

/** The follower's /health/ready document, taken with the last probe (Test Connection or the scheduler). */
function readinessItem(node: NodeDetails, item: (label: string, ok: boolean, detail: string) => HTMLElement) {
  const probe = node.last_probe;
  const seen = probe?.readiness;
  if (!probe) return item("/health/ready", false, "run Test Connection to ask the follower");
  if (!seen) return item("/health/ready", false, `no answer at ${formatTime(probe.at)}`);
  return item(
    "/health/ready",
    seen.status === "ready",
    `${readinessSummary(seen)} (at ${formatTime(probe.at)})`,
  );
}

/** "Remote Test Group (enabled, default), Old Group (disabled)": the groups routing to this node. */
function groupsDetail(node: NodeDetails): string {
  const seen = new Map<string, NodeDetails["policies"][number]["groups"][number]>();
  for (const group of node.policies.flatMap((p) => p.groups)) seen.set(group.id, group);
  return [...seen.values()]
    .map(
      (g) =>
        `${g.name} (${[g.enabled ? "enabled" : "disabled", g.is_default ? "default" : ""].filter(Boolean).join(", ")})`,
    )
    .join(", ");
}

function maintenanceSection(node: NodeDetails): HTMLElement {
  const caps = node.last_good_probe?.capabilities ?? null;
  const defaultTarget = node.ingress_targets.find((t) => t.is_default);
  const s3Targets = node.ingress_targets.filter((t) => t.driver === "s3");
  const recentErrors = node.recent_events.filter((e) => e.level === "error" || e.level === "warn");
  const lastOk = node.last_probe?.ok === true;
  const ready = lastOk && defaultTarget?.state === "applied";
  const enabledGroups = node.policies.flatMap((p) => p.groups).filter((g) => g.enabled);
  const item = (label: string, ok: boolean, detail: string) =>
    h("li", {}, badge(ok ? "ok" : "check", ok ? "ok" : "warn"), " ", h("strong", {}, label), ": ", detail);
  return h(
    "section",
    { class: "card", "aria-labelledby": "maint-title" },
    h("h2", { id: "maint-title" }, "Maintenance"),
    h(
      "ul",
      { class: "checklist" },
      item(
        "Connection test",
        lastOk,
        node.last_probe ? `last run ${formatTime(node.last_probe.at)}` : "never run",
      ),
      item(
        "Ready to receive objects",
        ready,
        ready ? "enrolled, reachable, default ingress target applied" : "not yet",
      ),
      readinessItem(node, item),
      item(
        "Default ingress target applied",
        defaultTarget?.state === "applied",
        defaultTarget
          ? `${defaultTarget.name}: ${defaultTarget.state}${defaultTarget.reason ? ` (${defaultTarget.reason})` : ""}`
          : "none",
      ),
      ...(caps?.ingress_targets ?? []).map((t) =>
        item(
          `Free space on ${t.name}`,
          t.free_bytes !== null && t.free_bytes > 0,
          `${formatBytes(t.free_bytes)} free of ${formatBytes(t.total_bytes)}`,
        ),
      ),
      ...s3Targets.map((t) =>
        item(
          `S3 credentials of ${t.name}`,
          t.state === "applied" && t.s3?.has_credentials === true,
          t.state === "applied" ? "valid at last apply" : `${t.state}${t.reason ? `: ${t.reason}` : ""}`,
        ),
      ),
      ...(node.connectivity === "outbound"
        ? [item("Channel", node.channel?.connected === true, channelSummary(node.channel))]
        : []),
      item(
        "Remote policies",
        node.policies.length > 0,
        node.policies.map((p) => p.name).join(", ") || "none use this node",
      ),
      item(
        "Policy groups enabled",
        enabledGroups.length > 0,
        groupsDetail(node) || "no group routes to this node",
      ),
      item(
        "Recent errors",
        recentErrors.length === 0,
        recentErrors.length === 0 ? "none" : `${recentErrors.length} below`,
      ),
    ),
    eventsSection(node),
  );
}

type NodeEvent = NodeDetails["recent_events"][number];

function eventItem(e: NodeEvent): HTMLElement {
  return h(
    "li",
    { class: `event ${e.level}` },
    h("time", { datetime: e.at }, formatTime(e.at)),
    ` ${e.level} ${e.kind}: ${e.message}`,
    e.repeats > 1
      ? h("span", { class: "muted" }, ` (${e.repeats} times in a row since ${formatTime(e.first_at)})`)
      : "",
  );
}

/**
 * Recent events: a routine success that repeats is one line with its last time and count, so
 * failures stay in view; "Problems only" and "Older events" page through the whole history.
 */
function eventsSection(node: NodeDetails): HTMLElement {
  const list = h("ul", { class: "events", "data-testid": "node-events" }, node.recent_events.map(eventItem));
  const empty = h("p", {}, "No events yet.");
  let next: string | null = null;
  const filter = select("events-filter", [
    ["all", "All events"],
    ["problems", "Problems only (warnings and errors)"],
  ]) as HTMLSelectElement;
  const older = h("button", { type: "button", class: "secondary" }, "Older events") as HTMLButtonElement;
  const load = async (append: boolean) => {
    const params = new URLSearchParams({ limit: "20" });
    if (filter.value === "problems") params.set("level", "warn,error");
    if (append && next) params.set("before", next);
    const page = await api<{ items: NodeEvent[]; next_before: string | null }>(
      "GET",
      `/api/v1/admin/nodes/${encodeURIComponent(node.id)}/events?${params}`,
    );
    if (!append) list.replaceChildren();
    list.append(...page.items.map(eventItem));
    next = page.next_before;
    older.hidden = next === null;
    empty.hidden = list.childElementCount > 0;
    announce(`${list.childElementCount} events shown`);
  };
  const run = (append: boolean) => () =>
    load(append).catch((error: unknown) => announce(describe(error), "error"));
  filter.addEventListener("change", run(false));
  older.addEventListener("click", run(true));
  empty.hidden = node.recent_events.length > 0;
  older.hidden = node.recent_events.length < 20;
  next = node.recent_events.at(-1)?.at ?? null;
  return h("div", {}, h("h3", {}, "Recent events"), field("Show", filter), empty, list, older);
}

export async function nodeDetailsPage(ctx: PageContext): Promise<Node> {
  const id = ctx.params[0]!;
  const node = await api<NodeDetails>("GET", `/api/v1/admin/nodes/${encodeURIComponent(id)}`);
  const status = nodeStatus(node);
  const remove = async () => {
    if (!confirm(`Delete the follower node record "${node.name}"?`)) return;
    try {
      await api("DELETE", `/api/v1/admin/nodes/${node.id}`);
      announce(`Follower node "${node.name}" deleted.`);
      navigate("/admin/nodes");
    } catch (error) {
      announce(describe(error), "error");
    }
  };
  return h(
    "section",
    {},
    h("p", {}, h("a", { href: "/admin/nodes" }, "← Follower Nodes")),
    h("h1", {}, node.name, " ", badge(status.label, status.tone)),
    h("div", { class: "grid" }, connectionSection(ctx, node), enrollmentSection(ctx, node)),
    testSection(ctx, node),
    node.connectivity === "outbound" ? channelSection(node.channel) : null,
    ingressTargetsSection(ctx, node),
    maintenanceSection(node),
    h(
      "section",
      { class: "card danger" },
      h("h2", {}, "Delete node"),
      h("button", { type: "button", class: "danger", onclick: remove }, "Delete follower node"),
    ),
  );
}
