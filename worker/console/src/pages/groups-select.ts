// Owns the policy group picker shared by user and team details ("" = follow the default group).
import { h } from "../dom.ts";
import type { PolicyGroup } from "../types.ts";

export function groupOptions(groups: PolicyGroup[], selected: string | null): HTMLSelectElement {
  return h(
    "select",
    { name: "policy_group_id" },
    h("option", { value: "", selected: selected === null }, "Follow the default group"),
    groups.map((g) =>
      h(
        "option",
        { value: g.id, selected: g.id === selected },
        `${g.name}${g.is_default ? " (default)" : ""}${g.enabled ? "" : " (disabled)"}`,
      ),
    ),
  );
}

export function groupName(groups: PolicyGroup[], id: string | null): string {
  if (id === null) return "Follows the default group";
  return groups.find((g) => g.id === id)?.name ?? id;
}

export async function loadGroupList(api: <T>(m: string, p: string) => Promise<T>): Promise<PolicyGroup[]> {
  return (await api<{ policy_groups: PolicyGroup[] }>("GET", "/api/v1/admin/policy-groups")).policy_groups;
}
