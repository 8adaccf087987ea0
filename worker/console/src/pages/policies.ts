// Owns Admin -> Storage Policies: the list, New Policy (driver remote with the tutorial's fields,
// s3, primary), Edit (everything but the driver and node), the connection test with its steps, and
// delete.
import { api } from "../api.ts";
import { bytesToMib, checked, field, formatBytes, formData, h, input, mibToBytes, select } from "../dom.ts";
import type { PageContext } from "../nav.ts";
import type { FollowerNode, Policy, PolicyTest } from "../types.ts";
import { act } from "./act.ts";

const MODES: [string, string][] = [
  ["relay_stream", "relay_stream (browser → primary → follower)"],
  ["presigned", "presigned (browser ↔ follower directly)"],
];

/** Mode labels name the storage the driver writes to; the primary's own store cannot presign. */
function labelModes(form: HTMLFormElement, driver: string): void {
  const storage = driver === "s3" ? "S3" : driver === "primary" ? "primary store" : "follower";
  for (const name of ["upload_mode", "download_mode"]) {
    const modes = form.elements.namedItem(name) as HTMLSelectElement;
    const [relay, presigned] = [...modes.options];
    if (!relay || !presigned) continue;
    relay.text =
      driver === "primary"
        ? "relay_stream (browser → primary)"
        : `relay_stream (browser → primary → ${storage})`;
    presigned.text = `presigned (browser ↔ ${storage} directly)`;
    presigned.disabled = driver === "primary";
    if (presigned.disabled) modes.value = "relay_stream";
  }
}

function policyRow(ctx: PageContext, p: Policy, nodes: FollowerNode[]): HTMLElement {
  const node = nodes.find((n) => n.id === p.node_id);
  const test = act(ctx, async () => {
    const result = await api<PolicyTest>("POST", `/api/v1/admin/policies/${p.id}/test`);
    const steps = result.steps.map((s) => `${s.step} ${s.ok ? "ok" : `failed (${s.error?.message ?? "?"})`}`);
    const text = `Policy test of "${p.name}" ${result.ok ? "succeeded" : "failed"}: ${steps.join(", ")}.`;
    // A failed test is reported as an error, like a failed Test Connection of a node.
    if (!result.ok) throw new Error(text);
    return text;
  });
  const remove = async () => {
    if (!confirm(`Delete storage policy "${p.name}"?`)) return;
    await act(ctx, async () => {
      await api("DELETE", `/api/v1/admin/policies/${p.id}`);
      return `Storage policy "${p.name}" deleted.`;
    })();
  };
  return h(
    "tr",
    { "data-policy": p.name },
    h("th", { scope: "row" }, p.name),
    h("td", { "data-label": "Driver" }, p.driver),
    h(
      "td",
      { "data-label": "Follower node" },
      p.driver === "remote" ? (node?.name ?? p.node_id ?? "?") : "—",
    ),
    h(
      "td",
      { "data-label": "Size limit" },
      p.max_file_size === 0 ? "unlimited" : formatBytes(p.max_file_size),
    ),
    h("td", { "data-label": "Chunk size" }, p.chunk_size === 0 ? "never chunk" : formatBytes(p.chunk_size)),
    h("td", { "data-label": "Upload / download" }, `${p.upload_mode} / ${p.download_mode}`),
    h(
      "td",
      { class: "actions" },
      h("button", { type: "button", "aria-label": `Test ${p.name}`, onclick: test }, "Test"),
      editDisclosure(ctx, p),
      h(
        "button",
        { type: "button", class: "danger", "aria-label": `Delete ${p.name}`, onclick: remove },
        "Delete",
      ),
    ),
  );
}

/** Edit: the driver and node stay (a policy's objects live there); S3 credentials stay unless both are given. */
function editForm(ctx: PageContext, p: Policy): HTMLElement {
  const s3 = p.s3;
  const form = h(
    "form",
    { class: "policy-edit", "aria-label": `Edit storage policy ${p.name}` },
    field("Name", input("name", { value: p.name, required: true })),
    field(
      "Single-file size limit (MiB)",
      input("max_file_size", { type: "number", min: 0, step: "any", value: bytesToMib(p.max_file_size) }),
      "0 means unlimited.",
    ),
    field(
      "Chunk size (MiB)",
      input("chunk_size", { type: "number", min: 0, step: "any", value: bytesToMib(p.chunk_size) }),
      "0 never chunks.",
    ),
    field("Upload mode", select("upload_mode", MODES, p.upload_mode)),
    field("Download mode", select("download_mode", MODES, p.download_mode)),
    field("Key prefix", input("key_prefix", { value: p.key_prefix })),
    s3
      ? h(
          "fieldset",
          {},
          h("legend", {}, "S3"),
          field("Endpoint", input("s3_endpoint", { type: "url", value: s3.endpoint })),
          field("Region", input("s3_region", { value: s3.region })),
          field("Bucket", input("s3_bucket", { value: s3.bucket })),
          h(
            "label",
            { class: "check" },
            h("input", { type: "checkbox", name: "s3_path_style", checked: s3.path_style }),
            " Path-style addressing",
          ),
          field("Access key ID", input("s3_access_key_id", { autocomplete: "off" }), "Leave empty to keep."),
          field(
            "Secret access key",
            input("s3_secret_access_key", { type: "password", autocomplete: "new-password" }),
            "Leave empty to keep.",
          ),
        )
      : null,
    h("button", { type: "submit" }, "Save policy"),
  );
  labelModes(form, p.driver);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const v = formData(form);
    void act(ctx, async () => {
      const body: Record<string, unknown> = {
        name: v.name,
        max_file_size: mibToBytes(v.max_file_size),
        chunk_size: mibToBytes(v.chunk_size),
        upload_mode: v.upload_mode,
        download_mode: v.download_mode,
        key_prefix: v.key_prefix ?? "",
      };
      if (s3) {
        body.s3 = {
          endpoint: v.s3_endpoint,
          region: v.s3_region || "us-east-1",
          bucket: v.s3_bucket,
          path_style: checked(form, "s3_path_style"),
          ...(v.s3_access_key_id && v.s3_secret_access_key
            ? { access_key_id: v.s3_access_key_id, secret_access_key: v.s3_secret_access_key }
            : {}),
        };
      }
      const saved = await api<Policy>("PATCH", `/api/v1/admin/policies/${p.id}`, body);
      return `Storage policy "${saved.name}" saved.`;
    })();
  });
  return form;
}

/** The Edit disclosure of a row; its form is built when opened, so the page holds one form per open row. */
function editDisclosure(ctx: PageContext, p: Policy): HTMLElement {
  const details = h("details", { class: "edit" }, h("summary", { "aria-label": `Edit ${p.name}` }, "Edit"));
  details.addEventListener("toggle", () => {
    const form = details.querySelector("form");
    if ((details as HTMLDetailsElement).open && !form) details.append(editForm(ctx, p));
    else if (!(details as HTMLDetailsElement).open) form?.remove();
  });
  return details;
}

function newPolicyForm(ctx: PageContext, nodes: FollowerNode[]): HTMLElement {
  const nodeOptions: [string, string][] = nodes.map((n) => [
    n.id,
    `${n.name}${n.enabled ? "" : " (disabled)"}`,
  ]);
  const form = h(
    "form",
    { class: "card", "aria-labelledby": "new-policy" },
    h("h2", { id: "new-policy" }, "New Policy"),
    field("Name", input("name", { required: true, placeholder: "Remote Follower A" })),
    field(
      "Driver type",
      select(
        "driver",
        [
          ["remote", "remote"],
          ["s3", "s3"],
          ["primary", "primary"],
        ],
        "remote",
      ),
    ),
    h("div", { class: "remote-fields" }, field("Follower node", select("node_id", nodeOptions))),
    field(
      "Single-file size limit (MiB)",
      input("max_file_size", { type: "number", min: 0, step: "any", value: "0" }),
      "0 means unlimited.",
    ),
    field(
      "Chunk size (MiB)",
      input("chunk_size", { type: "number", min: 0, step: "any", value: "5" }),
      "Keep the default for the first setup; 0 never chunks.",
    ),
    field("Upload mode", select("upload_mode", MODES, "relay_stream")),
    field("Download mode", select("download_mode", MODES, "relay_stream")),
    field("Key prefix", input("key_prefix", { value: "" }), "Optional prefix for object keys."),
    h(
      "fieldset",
      { class: "s3-fields" },
      h("legend", {}, "S3"),
      field("Endpoint", input("s3_endpoint", { type: "url" })),
      field("Region", input("s3_region", { value: "us-east-1" })),
      field("Bucket", input("s3_bucket")),
      h(
        "label",
        { class: "check" },
        h("input", { type: "checkbox", name: "s3_path_style", checked: true }),
        " Path-style addressing",
      ),
      field("Access key ID", input("s3_access_key_id", { autocomplete: "off" })),
      field(
        "Secret access key",
        input("s3_secret_access_key", { type: "password", autocomplete: "new-password" }),
      ),
    ),
    h("button", { type: "submit" }, "Save policy"),
  );
  const driver = form.elements.namedItem("driver") as HTMLSelectElement;
  const sync = () => {
    const s3 = form.querySelector<HTMLFieldSetElement>(".s3-fields")!;
    s3.hidden = s3.disabled = driver.value !== "s3";
    const remote = form.querySelector<HTMLElement>(".remote-fields")!;
    remote.hidden = driver.value !== "remote";
    (form.elements.namedItem("node_id") as HTMLSelectElement).disabled = driver.value !== "remote";
    labelModes(form, driver.value);
  };
  driver.addEventListener("change", sync);
  sync();
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const v = formData(form);
    void act(ctx, async () => {
      const body: Record<string, unknown> = {
        name: v.name,
        driver: v.driver,
        max_file_size: mibToBytes(v.max_file_size),
        chunk_size: mibToBytes(v.chunk_size),
        upload_mode: v.upload_mode,
        download_mode: v.download_mode,
        key_prefix: v.key_prefix ?? "",
      };
      if (v.driver === "remote") body.node_id = v.node_id;
      if (v.driver === "s3") {
        body.s3 = {
          endpoint: v.s3_endpoint,
          region: v.s3_region || "us-east-1",
          bucket: v.s3_bucket,
          path_style: checked(form, "s3_path_style"),
          access_key_id: v.s3_access_key_id,
          secret_access_key: v.s3_secret_access_key,
        };
      }
      const created = await api<Policy>("POST", "/api/v1/admin/policies", body);
      return `Storage policy "${created.name}" saved (chunk size ${bytesToMib(created.chunk_size)} MiB). Run its test next.`;
    })();
  });
  return form;
}

export async function policiesPage(ctx: PageContext): Promise<Node> {
  const [{ policies }, { nodes }] = await Promise.all([
    api<{ policies: Policy[] }>("GET", "/api/v1/admin/policies"),
    api<{ nodes: FollowerNode[] }>("GET", "/api/v1/admin/nodes"),
  ]);
  return h(
    "section",
    {},
    h("h1", {}, "Storage Policies"),
    h(
      "table",
      { class: "list" },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ["Name", "Driver", "Follower node", "Size limit", "Chunk size", "Upload / download", "Actions"].map(
            (c) => h("th", { scope: "col" }, c),
          ),
        ),
      ),
      h(
        "tbody",
        {},
        policies.map((p) => policyRow(ctx, p, nodes)),
      ),
    ),
    newPolicyForm(ctx, nodes),
  );
}
