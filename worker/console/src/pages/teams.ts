// Owns Admin -> Teams: the list, creating a team, and Team Details (policy group binding for team
// space uploads, members).
import { api } from "../api.ts";
import { field, formData, h, input, select } from "../dom.ts";
import type { PageContext } from "../nav.ts";
import type { Team, TeamDetail, User } from "../types.ts";
import { act } from "./act.ts";
import { groupName, groupOptions, loadGroupList } from "./groups-select.ts";
import { resolutionPreview } from "./resolution-preview.ts";

export async function teamsPage(ctx: PageContext): Promise<Node> {
  const [{ teams }, groups] = await Promise.all([
    api<{ teams: Team[] }>("GET", "/api/v1/admin/teams"),
    loadGroupList(api),
  ]);
  const form = h(
    "form",
    { class: "card", "aria-labelledby": "new-team" },
    h("h2", { id: "new-team" }, "New team"),
    field("Name", input("name", { required: true })),
    field("Policy group", groupOptions(groups, groups.find((g) => g.is_default)?.id ?? null)),
    h("button", { type: "submit" }, "Create team"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const v = formData(form);
    void act(ctx, async () => {
      await api("POST", "/api/v1/admin/teams", { name: v.name, policy_group_id: v.policy_group_id || null });
      return `Team "${v.name}" created.`;
    })();
  });
  return h(
    "section",
    {},
    h("h1", {}, "Teams"),
    teams.length === 0
      ? h("p", {}, "No teams yet.")
      : h(
          "table",
          { class: "list" },
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              ["Team", "Members", "Policy group"].map((c) => h("th", { scope: "col" }, c)),
            ),
          ),
          h(
            "tbody",
            {},
            teams.map((t) =>
              h(
                "tr",
                {},
                h(
                  "th",
                  { scope: "row" },
                  h("a", { href: `/admin/teams/${encodeURIComponent(t.id)}` }, t.name),
                ),
                h("td", { "data-label": "Members" }, String(t.member_count)),
                h("td", { "data-label": "Policy group" }, groupName(groups, t.policy_group_id)),
              ),
            ),
          ),
        ),
    form,
  );
}

export async function teamDetailsPage(ctx: PageContext): Promise<Node> {
  const id = ctx.params[0]!;
  const [team, groups, { users }] = await Promise.all([
    api<TeamDetail>("GET", `/api/v1/admin/teams/${encodeURIComponent(id)}`),
    loadGroupList(api),
    api<{ users: User[] }>("GET", "/api/v1/admin/users"),
  ]);
  const base = `/api/v1/admin/teams/${team.id}`;
  const form = h(
    "form",
    { class: "card", "aria-label": "Team settings" },
    field("Name", input("name", { value: team.name, required: true })),
    field(
      "Policy group",
      groupOptions(groups, team.policy_group_id),
      "Team space uploads match the team policy group, not the uploader's.",
    ),
    h("button", { type: "submit" }, "Save team"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const v = formData(form);
    void act(ctx, async () => {
      await api("PATCH", base, { name: v.name, policy_group_id: v.policy_group_id || null });
      return `Team "${v.name}" saved: policy group ${groupName(groups, v.policy_group_id || null)}.`;
    })();
  });
  const { members } = team;
  const memberIds = new Set(members.map((m) => m.user_id));
  const addForm = h(
    "form",
    { class: "card", "aria-label": "Add member" },
    field(
      "User",
      select(
        "user_id",
        users.filter((u) => !memberIds.has(u.id)).map((u) => [u.id, u.username]),
      ),
    ),
    field(
      "Team role",
      select(
        "role",
        [
          ["member", "member"],
          ["manager", "manager"],
        ],
        "member",
      ),
    ),
    h("button", { type: "submit" }, "Add member"),
  );
  addForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const v = formData(addForm);
    void act(ctx, async () => {
      await api("PUT", `${base}/members/${v.user_id}`, { role: v.role });
      return "Member added.";
    })();
  });
  return h(
    "section",
    {},
    h("p", {}, h("a", { href: "/admin/teams" }, "← Teams")),
    h("h1", {}, "Team Details: ", team.name),
    form,
    resolutionPreview([{ label: `team ${team.name}`, query: { space: "team", team_id: team.id } }]),
    h("h2", {}, "Members"),
    members.length === 0
      ? h("p", {}, "No members yet.")
      : h(
          "ul",
          { class: "members" },
          members.map((m) =>
            h(
              "li",
              {},
              `${m.username} (${m.role}) `,
              h(
                "button",
                {
                  type: "button",
                  class: "danger",
                  "aria-label": `Remove ${m.username}`,
                  onclick: act(ctx, async () => {
                    await api("DELETE", `${base}/members/${m.user_id}`);
                    return `${m.username} removed.`;
                  }),
                },
                "Remove",
              ),
            ),
          ),
        ),
    addForm,
  );
}
