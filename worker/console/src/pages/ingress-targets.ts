// Owns "Primary-managed ingress targets" on the node details page: the targets with their apply
// state and reason, create (local or s3), edit, make default, re-apply and delete.
import { api } from "../api.ts";
import { checked, field, formData, h, input, select } from "../dom.ts";
import type { PageContext } from "../nav.ts";
import type { IngressTarget, NodeDetails } from "../types.ts";
import { act } from "./act.ts";
import { badge } from "./nodes.ts";

function s3Fields(target?: IngressTarget): HTMLElement {
  const s3 = target?.s3;
  const editing = target !== undefined;
  return h(
    "fieldset",
    { class: "s3-fields" },
    h("legend", {}, "S3"),
    field(
      "Endpoint",
      input("s3_endpoint", { type: "url", value: s3?.endpoint, placeholder: "https://s3.example.com" }),
    ),
    field("Region", input("s3_region", { value: s3?.region ?? "us-east-1" })),
    field("Bucket", input("s3_bucket", { value: s3?.bucket })),
    h(
      "label",
      { class: "check" },
      h("input", { type: "checkbox", name: "s3_path_style", checked: s3?.path_style ?? true }),
      " Path-style addressing",
    ),
    field(
      "Access key ID",
      input("s3_access_key_id", { autocomplete: "off", placeholder: editing ? "(unchanged)" : "" }),
    ),
    field(
      "Secret access key",
      input("s3_secret_access_key", {
        type: "password",
        autocomplete: "new-password",
        placeholder: editing ? "(unchanged)" : "",
      }),
    ),
  );
}

function s3Body(values: Record<string, string>, form: HTMLFormElement, partial: boolean) {
  const out: Record<string, unknown> = {};
  const put = (key: string, value: string | undefined) => {
    if (value || !partial) out[key] = value ?? "";
  };
  put("endpoint", values.s3_endpoint);
  put("region", values.s3_region);
  put("bucket", values.s3_bucket);
  out.path_style = checked(form, "s3_path_style");
  put("access_key_id", values.s3_access_key_id);
  put("secret_access_key", values.s3_secret_access_key);
  return out;
}

/** Shows the S3 fieldset only while the driver select says s3. */
function toggleS3(form: HTMLFormElement): void {
  const driver = form.elements.namedItem("driver") as HTMLSelectElement | null;
  const fields = form.querySelector<HTMLFieldSetElement>(".s3-fields");
  if (!driver || !fields) return;
  const sync = () => {
    fields.hidden = driver.value !== "s3";
    fields.disabled = driver.value !== "s3";
  };
  driver.addEventListener("change", sync);
  sync();
}

/** The apply outcome for the status line; a failed apply is the action failing, so it reads as an error. */
function outcome(action: string, t: IngressTarget): string {
  const text = `${action}: ${t.state}${t.reason ? ` (${t.reason})` : ""}.`;
  if (t.state === "failed") throw new Error(text);
  return text;
}

function editForm(ctx: PageContext, node: NodeDetails, t: IngressTarget): HTMLElement {
  const form = h(
    "form",
    { "aria-label": `Edit ingress target ${t.name}` },
    field("Name", input("name", { value: t.name, required: true })),
    field("Base path", input("base_path", { value: t.base_path })),
    h("input", { type: "hidden", name: "driver", value: t.driver }),
    t.driver === "s3" ? s3Fields(t) : null,
    h("button", { type: "submit" }, "Save ingress target"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const values = formData(form);
    void act(ctx, async () => {
      const saved = await api<IngressTarget>(
        "PATCH",
        `/api/v1/admin/nodes/${node.id}/ingress-targets/${t.id}`,
        {
          name: values.name,
          base_path: values.base_path ?? "",
          ...(t.driver === "s3" ? { s3: s3Body(values, form, true) } : {}),
        },
      );
      return outcome(`Ingress target "${saved.name}" saved and pushed`, saved);
    })();
  });
  return h("details", {}, h("summary", {}, "Edit"), form);
}

function targetRow(ctx: PageContext, node: NodeDetails, t: IngressTarget): HTMLElement {
  const base = `/api/v1/admin/nodes/${node.id}/ingress-targets/${t.id}`;
  const tone = t.state === "applied" ? "ok" : t.state === "failed" ? "bad" : "warn";
  return h(
    "tr",
    { "data-target": t.name },
    h("th", { scope: "row" }, t.name),
    h("td", { "data-label": "Driver" }, t.driver),
    h(
      "td",
      { "data-label": "Base path" },
      h("code", {}, t.base_path || "(root)"),
      t.s3 ? ` in ${t.s3.bucket}` : "",
    ),
    h("td", { "data-label": "Default" }, t.is_default ? badge("default", "info") : "—"),
    h(
      "td",
      { "data-label": "State" },
      badge(t.state, tone),
      ` rev ${t.applied_revision ?? "—"}/${t.revision}`,
    ),
    h("td", { "data-label": "Reason" }, t.reason ?? "—"),
    h(
      "td",
      { class: "actions" },
      h(
        "button",
        {
          type: "button",
          class: "secondary",
          "aria-label": `Re-apply ${t.name}`,
          onclick: act(ctx, async () => {
            const r = await api<IngressTarget>("POST", `${base}/apply`);
            return outcome(`Re-applied "${t.name}"`, r);
          }),
        },
        "Re-apply",
      ),
      t.is_default
        ? null
        : h(
            "button",
            {
              type: "button",
              class: "secondary",
              "aria-label": `Make ${t.name} the default`,
              onclick: act(ctx, async () => {
                await api("PATCH", base, { is_default: true });
                return `"${t.name}" is now the default ingress target.`;
              }),
            },
            "Make default",
          ),
      h(
        "button",
        {
          type: "button",
          class: "danger",
          "aria-label": `Delete ${t.name}`,
          onclick: async () => {
            if (!confirm(`Delete ingress target "${t.name}"?`)) return;
            await act(ctx, async () => {
              await api("DELETE", base);
              return `Ingress target "${t.name}" deleted.`;
            })();
          },
        },
        "Delete",
      ),
      editForm(ctx, node, t),
    ),
  );
}

export function ingressTargetsSection(ctx: PageContext, node: NodeDetails): HTMLElement {
  const form = h(
    "form",
    { "aria-labelledby": "new-target" },
    h("h3", { id: "new-target" }, "New ingress target"),
    field(
      "Name",
      input("name", { required: true, value: node.ingress_targets.length === 0 ? "default-local" : "" }),
    ),
    field(
      "Driver",
      select(
        "driver",
        [
          ["local", "local"],
          ["s3", "s3"],
        ],
        "local",
      ),
    ),
    field(
      "Base path",
      input("base_path", { value: node.ingress_targets.length === 0 ? "default" : "" }),
      "local: a relative path under the follower's server.follower.managed_ingress_local_root. s3: a key prefix.",
    ),
    h(
      "label",
      { class: "check" },
      h("input", { type: "checkbox", name: "is_default", checked: node.ingress_targets.length === 0 }),
      " Default ingress target",
    ),
    s3Fields(),
    h("button", { type: "submit" }, "Create ingress target"),
  );
  toggleS3(form);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const values = formData(form);
    void act(ctx, async () => {
      const created = await api<IngressTarget>("POST", `/api/v1/admin/nodes/${node.id}/ingress-targets`, {
        driver: values.driver,
        name: values.name,
        base_path: values.base_path ?? "",
        is_default: checked(form, "is_default"),
        ...(values.driver === "s3" ? { s3: s3Body(values, form, false) } : {}),
      });
      return outcome(`Ingress target "${created.name}" created`, created);
    })();
  });
  return h(
    "section",
    { class: "card", "aria-labelledby": "targets-title" },
    h("h2", { id: "targets-title" }, "Primary-managed ingress targets"),
    node.ingress_targets.length === 0
      ? h(
          "p",
          {},
          "No ingress target yet: without a default ingress target a remote policy cannot write data.",
        )
      : h(
          "table",
          { class: "list" },
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              ["Name", "Driver", "Base path", "Default", "State", "Reason", "Actions"].map((c) =>
                h("th", { scope: "col" }, c),
              ),
            ),
          ),
          h(
            "tbody",
            {},
            node.ingress_targets.map((t) => targetRow(ctx, node, t)),
          ),
        ),
    form,
  );
}
