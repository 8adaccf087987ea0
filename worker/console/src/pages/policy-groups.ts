// Owns Admin -> Policy Groups: groups with their rules (priority, file size range, storage policy),
// New Policy Group, add/remove rules, enable/disable, and the default group for new users.
import { api } from "../api.ts";
import { checked, field, formData, h, input, mibToBytes, select } from "../dom.ts";
import type { PageContext } from "../nav.ts";
import type { Policy, PolicyGroup, Team, User } from "../types.ts";
import { act } from "./act.ts";
import { badge } from "./nodes.ts";
import { resolutionPreview, type Subject } from "./resolution-preview.ts";
import { sizeRange } from "./size-range.ts";

/** The group's warnings (sizes no usable rule matches) as one sentence, or "". */
function warningText(group: PolicyGroup): string {
  return group.warnings.map((w) => w.message).join(" ");
}

function ruleForm(ctx: PageContext, group: PolicyGroup, policies: Policy[]): HTMLElement {
  const next = Math.max(0, ...group.rules.map((r) => r.priority)) + 1;
  const form = h(
    "form",
    { class: "rule-form", "aria-label": `Add a rule to ${group.name}` },
    field(
      "Storage policy",
      select(
        "policy_id",
        policies.map((p) => [p.id, `${p.name} (${p.driver})`]),
      ),
    ),
    field(
      "Priority",
      input("priority", { type: "number", min: 1, step: 1, value: String(next) }),
      "Lower numbers match first.",
    ),
    field(
      "Minimum file size (MiB)",
      input("min_size", { type: "number", min: 0, step: "any", value: "0" }),
      "Inclusive: a file of exactly this size matches.",
    ),
    field(
      "Maximum file size (MiB)",
      input("max_size", { type: "number", min: 0, step: "any", value: "0" }),
      "Exclusive: a file of exactly this size does not match, so the next rule starts here. 0 means no upper limit.",
    ),
    h("button", { type: "submit" }, "Add rule"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const v = formData(form);
    void act(ctx, async () => {
      const saved = await api<PolicyGroup>("POST", `/api/v1/admin/policy-groups/${group.id}/rules`, {
        policy_id: v.policy_id,
        priority: Number(v.priority),
        min_size: mibToBytes(v.min_size),
        max_size: mibToBytes(v.max_size),
      });
      return [`Rule added to "${group.name}".`, warningText(saved)].filter(Boolean).join(" Warning: ");
    })();
  });
  return form;
}

function groupCard(ctx: PageContext, group: PolicyGroup, policies: Policy[]): HTMLElement {
  const base = `/api/v1/admin/policy-groups/${group.id}`;
  const rules = [...group.rules].sort((a, b) => a.priority - b.priority);
  return h(
    "article",
    { class: "card", "data-group": group.name, "aria-label": `Policy group ${group.name}` },
    h(
      "h2",
      {},
      group.name,
      " ",
      group.is_default ? badge("default for new users", "info") : null,
      " ",
      badge(group.enabled ? "enabled" : "disabled", group.enabled ? "ok" : "warn"),
    ),
    group.description ? h("p", {}, group.description) : null,
    h("p", { class: "hint" }, `${group.user_count} users, ${group.team_count} teams bound.`),
    group.warnings.length > 0
      ? h("p", { class: "status warn", "data-testid": "group-warning" }, "Warning: ", warningText(group))
      : null,
    h(
      "p",
      { class: "hint" },
      "Each rule matches sizes from its minimum (inclusive) to under its maximum (exclusive).",
    ),
    rules.length === 0
      ? h("p", {}, "No rules: uploads resolving through this group will be refused.")
      : h(
          "table",
          { class: "list" },
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              ["Priority", "File size range", "Storage policy", ""].map((c) => h("th", { scope: "col" }, c)),
            ),
          ),
          h(
            "tbody",
            {},
            rules.map((r) =>
              h(
                "tr",
                {},
                h("td", { "data-label": "Priority" }, String(r.priority)),
                h("td", { "data-label": "File size range" }, sizeRange(r.min_size, r.max_size)),
                h("th", { scope: "row" }, r.policy_name),
                h(
                  "td",
                  { class: "actions" },
                  h(
                    "button",
                    {
                      type: "button",
                      class: "danger",
                      "aria-label": `Remove rule ${r.priority} (${r.policy_name})`,
                      onclick: act(ctx, async () => {
                        const saved = await api<PolicyGroup>("DELETE", `${base}/rules/${r.id}`);
                        return [`Rule removed from "${group.name}".`, warningText(saved)]
                          .filter(Boolean)
                          .join(" Warning: ");
                      }),
                    },
                    "Remove",
                  ),
                ),
              ),
            ),
          ),
        ),
    h("details", {}, h("summary", {}, "Add rule"), ruleForm(ctx, group, policies)),
    h(
      "div",
      { class: "actions" },
      // The default group cannot be disabled, and a disabled group cannot become the default: no
      // control is offered that could only be refused.
      group.is_default
        ? h("p", { class: "hint" }, "The default group stays enabled; make another group the default first.")
        : h(
            "button",
            {
              type: "button",
              class: "secondary",
              onclick: act(ctx, async () => {
                await api("PATCH", base, { enabled: !group.enabled });
                return `"${group.name}" ${group.enabled ? "disabled" : "enabled"}.`;
              }),
            },
            group.enabled ? `Disable ${group.name}` : `Enable ${group.name}`,
          ),
      group.is_default || !group.enabled
        ? null
        : h(
            "button",
            {
              type: "button",
              class: "secondary",
              onclick: act(ctx, async () => {
                await api("PATCH", base, { is_default: true });
                return `"${group.name}" is now the default policy group for new users.`;
              }),
            },
            `Make ${group.name} the default for new users`,
          ),
      group.is_default
        ? null
        : h(
            "button",
            {
              type: "button",
              class: "danger",
              onclick: async () => {
                if (!confirm(`Delete policy group "${group.name}"?`)) return;
                await act(ctx, async () => {
                  await api("DELETE", base);
                  return `Policy group "${group.name}" deleted.`;
                })();
              },
            },
            `Delete ${group.name}`,
          ),
    ),
  );
}

export async function policyGroupsPage(ctx: PageContext): Promise<Node> {
  const [{ policy_groups: list }, { policies }, { users }, { teams }] = await Promise.all([
    api<{ policy_groups: PolicyGroup[] }>("GET", "/api/v1/admin/policy-groups"),
    api<{ policies: Policy[] }>("GET", "/api/v1/admin/policies"),
    api<{ users: User[] }>("GET", "/api/v1/admin/users"),
    api<{ teams: Team[] }>("GET", "/api/v1/admin/teams"),
  ]);
  const groupOf = (id: string | null) => list.find((g) => g.id === id)?.name ?? "the default group";
  const subjects: Subject[] = [
    ...users.map(
      (u): Subject => ({
        label: `${u.username} (personal space, ${groupOf(u.policy_group_id)})`,
        query: { space: "personal", user_id: u.id },
      }),
    ),
    ...teams.map(
      (t): Subject => ({
        label: `Team ${t.name} (${groupOf(t.policy_group_id)})`,
        query: { space: "team", team_id: t.id },
      }),
    ),
  ];
  const form = h(
    "form",
    { class: "card", "aria-labelledby": "new-group" },
    h("h2", { id: "new-group" }, "New Policy Group"),
    field("Name", input("name", { required: true, placeholder: "Remote Test Group" })),
    field("Description", input("description")),
    h(
      "label",
      { class: "check" },
      h("input", { type: "checkbox", name: "is_default" }),
      " Default policy group for new users",
    ),
    h("button", { type: "submit" }, "Create policy group"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const v = formData(form);
    void act(ctx, async () => {
      await api("POST", "/api/v1/admin/policy-groups", {
        name: v.name,
        description: v.description ?? "",
        is_default: checked(form, "is_default"),
      });
      return `Policy group "${v.name}" created. Add a rule next.`;
    })();
  });
  return h(
    "section",
    {},
    h("h1", {}, "Policy Groups"),
    h(
      "p",
      { class: "hint" },
      "Changing a group only affects future uploads; files keep the policy they were written with.",
    ),
    list.map((g) => groupCard(ctx, g, policies)),
    resolutionPreview(subjects),
    form,
  );
}
