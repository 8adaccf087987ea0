// Owns Admin -> Move Files: moving a storage policy's files, or draining a follower node, onto a
// target policy. The dry run first (files, bytes, what cannot move and why, the target's free space,
// the path), then the job; the jobs with a progress bar, rate, time left and failed files, kept up to
// date while one runs, and pause, resume, cancel and retry.
import { api } from "../api.ts";
import { field, formatBytes, formatTime, formData, h, select } from "../dom.ts";
import type { PageContext } from "../nav.ts";
import type { FollowerNode, MoveJob, MovePlan, Policy } from "../types.ts";
import { act } from "./act.ts";

const POLL_MS = 2000;

const REASONS: Record<string, string> = {
  target_node_missing: "the target's follower node is gone",
  target_node_disabled: "the target's follower node is disabled",
  target_no_default_ingress: "the target's node has no applied default ingress target",
  over_target_limit: "larger than the target takes",
  in_other_move: "already moving in another job",
};

function formatDuration(seconds: number | null): string {
  if (seconds === null) return "unknown";
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.round(seconds / 60);
  return minutes < 60 ? `${minutes} min` : `${(minutes / 60).toFixed(1)} h`;
}

function jobRow(ctx: PageContext, job: MoveJob): HTMLElement[] {
  const p = job.progress;
  const action = (name: string, label: string) =>
    h(
      "button",
      {
        type: "button",
        class: name === "cancel" ? "danger" : "secondary",
        "aria-label": `${label} the move from ${job.source.name}`,
        onclick: act(ctx, async () => {
          const after = await api<MoveJob>("POST", `/api/v1/admin/moves/${job.id}/${name}`, {});
          return `Move from "${job.source.name}" is ${after.state}.`;
        }),
      },
      label,
    );
  const active = job.state === "running" || job.state === "paused";
  const row = h(
    "tr",
    { "data-move": job.id, "data-state": job.state },
    h("th", { scope: "row" }, `${job.source.kind === "node" ? "Drain " : ""}${job.source.name}`),
    h("td", { "data-label": "Target" }, job.target.name),
    h("td", { "data-label": "State" }, job.state),
    h(
      "td",
      { "data-label": "Progress" },
      h("progress", {
        max: Math.max(1, p.total.bytes),
        value: p.done.bytes + p.skipped.bytes + p.failed.bytes + p.copying.bytes_done,
        "aria-label": `Progress of the move from ${job.source.name}`,
      }),
      h(
        "div",
        { class: "hint" },
        `${p.done.files} of ${p.total.files} files, ${formatBytes(p.done.bytes)} of ${formatBytes(p.total.bytes)}`,
      ),
    ),
    h(
      "td",
      { "data-label": "Rate" },
      p.bytes_per_second === null ? "—" : `${formatBytes(Math.round(p.bytes_per_second))}/s`,
    ),
    h("td", { "data-label": "Time left" }, job.state === "running" ? formatDuration(p.seconds_left) : "—"),
    h(
      "td",
      { "data-label": "Problems" },
      `${p.failed.files} failed, ${p.waiting.files} waiting, ${p.skipped.files} skipped`,
    ),
    h(
      "td",
      { class: "actions" },
      job.state === "running" && action("pause", "Pause"),
      job.state === "paused" && action("resume", "Resume"),
      active && action("cancel", "Cancel"),
      job.state !== "cancelled" && p.failed.files > 0 && action("retry", "Retry failed"),
    ),
  );
  const failures = (job.failures ?? []).map((f) =>
    h(
      "tr",
      { class: "failure" },
      h(
        "td",
        { colspan: 8 },
        `${f.name ?? f.file_id}: ${f.code} — ${f.message} (${formatTime(f.finished_at)})`,
      ),
    ),
  );
  return [row, ...failures];
}

async function jobsTable(ctx: PageContext): Promise<{ table: HTMLElement; running: boolean }> {
  const { jobs } = await api<{ jobs: MoveJob[] }>("GET", "/api/v1/admin/moves");
  const detailed = await Promise.all(
    jobs.map((j) => (j.progress.failed.files > 0 ? api<MoveJob>("GET", `/api/v1/admin/moves/${j.id}`) : j)),
  );
  const table = h(
    "table",
    { class: "list", id: "move-jobs" },
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        ["Source", "Target", "State", "Progress", "Rate", "Time left", "Problems", "Actions"].map((c) =>
          h("th", { scope: "col" }, c),
        ),
      ),
    ),
    h(
      "tbody",
      {},
      detailed.length === 0 ? h("tr", {}, h("td", { colspan: 8 }, "No move jobs yet.")) : null,
      detailed.flatMap((j) => jobRow(ctx, j)),
    ),
  );
  return { table, running: jobs.some((j) => j.state === "running") };
}

/** While a job runs, its row is fetched again every few seconds (the form is left alone). */
function keepFresh(ctx: PageContext, holder: HTMLElement, running: boolean): void {
  if (!running) return;
  setTimeout(async () => {
    if (!holder.isConnected) return;
    const next = await jobsTable(ctx).catch(() => null);
    if (!next || !holder.isConnected) return;
    holder.replaceChildren(next.table);
    keepFresh(ctx, holder, next.running);
  }, POLL_MS);
}

function planView(plan: MovePlan): HTMLElement {
  const space =
    plan.space.free_bytes === null
      ? "The target's free space is not known (no probe reports it)."
      : `The target has ${formatBytes(plan.space.free_bytes)} free at its last probe; ${formatBytes(plan.space.needed_bytes)} are needed${plan.space.enough ? "" : " — not enough"}.`;
  return h(
    "div",
    { class: "card", id: "move-plan", "aria-live": "polite" },
    h("h3", {}, "Dry run"),
    h(
      "p",
      {},
      `${plan.files} files (${formatBytes(plan.bytes)}); ${plan.movable.files} can move (${formatBytes(plan.movable.bytes)}), ${plan.path === "pull" ? "pulled by the target follower from the source directly" : "streamed through the primary"}.`,
    ),
    h("p", {}, space),
    plan.blocked.length > 0 &&
      h(
        "ul",
        {},
        plan.blocked.map((b) =>
          h(
            "li",
            {},
            `${b.files} files (${formatBytes(b.bytes)}) cannot move: ${REASONS[b.reason] ?? b.reason}` +
              (b.examples.length > 0 ? ` (e.g. ${b.examples.map((e) => e.name).join(", ")})` : ""),
          ),
        ),
      ),
  );
}

function newMoveForm(ctx: PageContext, policies: Policy[], nodes: FollowerNode[]): HTMLElement {
  const sources: [string, string][] = [
    ...policies.map((p): [string, string] => [`policy:${p.id}`, `Policy: ${p.name}`]),
    ...nodes.map((n): [string, string] => [`node:${n.id}`, `Drain node: ${n.name}`]),
  ];
  const result = h("div", {});
  const form = h(
    "form",
    { class: "card", "aria-labelledby": "new-move" },
    h("h2", { id: "new-move" }, "New move"),
    field(
      "Source",
      select("source", sources),
      "A policy's files, or every file on a follower node (a drain).",
    ),
    field(
      "Target policy",
      select(
        "target",
        policies.map((p) => [p.id, p.name]),
      ),
    ),
    h(
      "div",
      { class: "actions" },
      h("button", { type: "submit", value: "dry-run" }, "Dry run"),
      h("button", { type: "submit", value: "start", class: "secondary" }, "Start move"),
    ),
    result,
  );
  const body = () => {
    const v = formData(form);
    const [kind, id] = (v.source ?? "").split(":");
    return {
      source: kind === "node" ? { kind: "node", node_id: id } : { kind: "policy", policy_id: id },
      target_policy_id: v.target,
    };
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const start = (event.submitter as HTMLButtonElement | null)?.value === "start";
    if (!start) {
      void act({ ...ctx, refresh: async () => {} }, async () => {
        const plan = await api<MovePlan>("POST", "/api/v1/admin/moves/dry-run", body());
        result.replaceChildren(planView(plan));
        return `Dry run: ${plan.movable.files} of ${plan.files} files can move.`;
      })();
      return;
    }
    void act(ctx, async () => {
      const job = await api<MoveJob>("POST", "/api/v1/admin/moves", body());
      return `Move from "${job.source.name}" to "${job.target.name}" started: ${job.progress.total.files} files.`;
    })();
  });
  return form;
}

export async function movesPage(ctx: PageContext): Promise<Node> {
  const [{ policies }, { nodes }, jobs] = await Promise.all([
    api<{ policies: Policy[] }>("GET", "/api/v1/admin/policies"),
    api<{ nodes: FollowerNode[] }>("GET", "/api/v1/admin/nodes"),
    jobsTable(ctx),
  ]);
  const holder = h("div", {}, jobs.table);
  keepFresh(ctx, holder, jobs.running);
  return h(
    "section",
    {},
    h("h1", {}, "Move Files"),
    h(
      "p",
      { class: "hint" },
      "Files keep their id, name, folder, share links and SHA-256; each switches only after the target holds the same bytes. A policy or node being emptied takes no new uploads until its job ends or is cancelled.",
    ),
    holder,
    newMoveForm(ctx, policies, nodes),
  );
}
