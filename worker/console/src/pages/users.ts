// Owns Admin -> Users: the list, creating a user, and User Details (policy group binding, role,
// disabled, password reset).
import { api } from "../api.ts";
import { checked, field, formatTime, formData, h, input, select } from "../dom.ts";
import type { PageContext } from "../nav.ts";
import type { User } from "../types.ts";
import { act } from "./act.ts";
import { groupName, groupOptions, loadGroupList } from "./groups-select.ts";
import { badge } from "./nodes.ts";
import { resolutionPreview } from "./resolution-preview.ts";

export async function usersPage(ctx: PageContext): Promise<Node> {
  const [{ users }, groups] = await Promise.all([
    api<{ users: User[] }>("GET", "/api/v1/admin/users"),
    loadGroupList(api),
  ]);
  const form = h(
    "form",
    { class: "card", "aria-labelledby": "new-user" },
    h("h2", { id: "new-user" }, "New user"),
    field("Username", input("username", { required: true, autocomplete: "off" })),
    field("Password", input("password", { type: "password", required: true, autocomplete: "new-password" })),
    field("Display name", input("display_name")),
    field(
      "Role",
      select(
        "role",
        [
          ["user", "user"],
          ["admin", "admin"],
        ],
        "user",
      ),
    ),
    field("Policy group", groupOptions(groups, groups.find((g) => g.is_default)?.id ?? null)),
    h("button", { type: "submit" }, "Create user"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const v = formData(form);
    void act(ctx, async () => {
      const user = await api<User>("POST", "/api/v1/admin/users", {
        username: v.username,
        password: v.password,
        ...(v.display_name ? { display_name: v.display_name } : {}),
        role: v.role,
        policy_group_id: v.policy_group_id || null,
      });
      return `User "${user.username}" created.`;
    })();
  });
  return h(
    "section",
    {},
    h("h1", {}, "Users"),
    h(
      "table",
      { class: "list" },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ["Username", "Role", "Policy group", "State"].map((c) => h("th", { scope: "col" }, c)),
        ),
      ),
      h(
        "tbody",
        {},
        users.map((u) =>
          h(
            "tr",
            {},
            h(
              "th",
              { scope: "row" },
              h("a", { href: `/admin/users/${encodeURIComponent(u.id)}` }, u.username),
            ),
            h("td", { "data-label": "Role" }, u.role),
            h("td", { "data-label": "Policy group" }, groupName(groups, u.policy_group_id)),
            h(
              "td",
              { "data-label": "State" },
              u.disabled ? badge("disabled", "warn") : badge("active", "ok"),
            ),
          ),
        ),
      ),
    ),
    form,
  );
}

export async function userDetailsPage(ctx: PageContext): Promise<Node> {
  const id = ctx.params[0]!;
  const [user, groups] = await Promise.all([
    api<User>("GET", `/api/v1/admin/users/${encodeURIComponent(id)}`),
    loadGroupList(api),
  ]);
  const form = h(
    "form",
    { class: "card", "aria-labelledby": "user-title" },
    field("Display name", input("display_name", { value: user.display_name })),
    field(
      "Role",
      select(
        "role",
        [
          ["user", "user"],
          ["admin", "admin"],
        ],
        user.role,
      ),
    ),
    field(
      "Policy group",
      groupOptions(groups, user.policy_group_id),
      "Personal-space uploads resolve through this group.",
    ),
    h(
      "label",
      { class: "check" },
      h("input", { type: "checkbox", name: "disabled", checked: user.disabled }),
      " Disabled",
    ),
    field(
      "New password",
      input("password", { type: "password", autocomplete: "new-password" }),
      "Leave empty to keep.",
    ),
    h("button", { type: "submit" }, "Save user"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const v = formData(form);
    void act(ctx, async () => {
      await api("PATCH", `/api/v1/admin/users/${user.id}`, {
        display_name: v.display_name ?? "",
        role: v.role,
        disabled: checked(form, "disabled"),
        policy_group_id: v.policy_group_id || null,
        ...(v.password ? { password: v.password } : {}),
      });
      return `User "${user.username}" saved: policy group ${groupName(groups, v.policy_group_id || null)}.`;
    })();
  });
  return h(
    "section",
    {},
    h("p", {}, h("a", { href: "/admin/users" }, "← Users")),
    h("h1", { id: "user-title" }, "User Details: ", user.username),
    h("p", { class: "hint" }, `Created ${formatTime(user.created_at)}.`),
    form,
    resolutionPreview([
      { label: `${user.username} (personal space)`, query: { space: "personal", user_id: user.id } },
    ]),
  );
}
