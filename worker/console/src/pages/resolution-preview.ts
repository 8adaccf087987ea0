// Owns the resolution preview (tutorial §9): which storage policy, and on which follower node, an upload
// of a given size by a given user or team would use, with the rules skipped on the way and why. Shown on
// the policy group, user and team pages; asks GET /api/v1/admin/policy-resolution.
import { api, describe } from "../api.ts";
import { field, formData, h, input, select } from "../dom.ts";
import type { FollowerNode, Resolution } from "../types.ts";
import { sizeRange } from "./size-range.ts";

/** Whose upload is previewed: a user's personal space or a team's space. */
export interface Subject {
  label: string;
  query: { space: "personal"; user_id: string } | { space: "team"; team_id: string };
}

const REASONS: Record<string, string> = {
  size_out_of_range: "size outside its range",
  over_policy_size_limit: "over its policy's single-file size limit",
  node_disabled: "its follower node is disabled",
  node_missing: "its follower node is gone",
};

function describeResolution(r: Resolution, nodes: FollowerNode[]): string {
  const node = r.policy.node_id
    ? (nodes.find((n) => n.id === r.policy.node_id)?.name ?? r.policy.node_id)
    : null;
  const skipped = r.skipped.map((s) => `rule ${s.priority} (${REASONS[s.reason] ?? s.reason})`);
  return [
    `Storage policy "${r.policy.name}" (${r.policy.driver}${node ? ` on follower node ${node}` : ""})`,
    `through group "${r.policy_group.name}", rule ${r.rule.priority} (${sizeRange(r.rule.min_size, r.rule.max_size)}).`,
    skipped.length ? `Skipped: ${skipped.join(", ")}.` : "No rule skipped.",
  ].join(" ");
}

export function resolutionPreview(subjects: Subject[]): HTMLElement {
  const output = h("p", { class: "status", role: "status", "data-testid": "resolution-result" });
  const form = h(
    "form",
    { class: "card", "aria-labelledby": "resolution-title" },
    h("h2", { id: "resolution-title" }, "Which policy would an upload use?"),
    subjects.length > 1
      ? field(
          "Uploaded by",
          select(
            "subject",
            subjects.map((s, i) => [String(i), s.label]),
          ),
        )
      : h("p", { class: "hint" }, `Uploaded by ${subjects[0]?.label ?? "nobody"}.`),
    field(
      "File size (bytes)",
      input("size", { type: "number", min: 0, step: 1, value: "1048576", required: true }),
      "Exact bytes: a rule matches from its minimum (inclusive) to under its maximum (exclusive).",
    ),
    h("button", { type: "submit" }, "Preview"),
    output,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const v = formData(form);
    const subject = subjects[Number(v.subject ?? "0")];
    if (!subject) return;
    const query = new URLSearchParams({ ...subject.query, size: String(Number(v.size ?? "0")) });
    output.textContent = "Working…";
    void Promise.all([
      api<Resolution>("GET", `/api/v1/admin/policy-resolution?${query}`),
      api<{ nodes: FollowerNode[] }>("GET", "/api/v1/admin/nodes"),
    ]).then(
      ([resolution, { nodes }]) => {
        output.className = "status ok";
        output.textContent = describeResolution(resolution, nodes);
      },
      (error: unknown) => {
        output.className = "status error";
        output.textContent = describe(error);
      },
    );
  });
  return form;
}
