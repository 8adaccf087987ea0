// Owns the console's tiny DOM toolkit: element building without innerHTML (user data is always text),
// byte and time formatting, and the status line that announces results to screen readers.

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

/** Builds an element; `on*` keys become listeners, booleans toggle attributes, children are text-safe. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === "function") el.addEventListener(key.slice(2).toLowerCase(), value);
    else if (value === true) el.setAttribute(key, "");
    else if (key === "value" && "value" in el) (el as HTMLInputElement).value = String(value);
    else el.setAttribute(key, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

export const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"] as const;

export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined) return "unknown";
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${UNITS[unit]}`;
}

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return "never";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

let fieldCount = 0;

/**
 * A labelled form field: <label for> names the control (so its accessible name is exactly `label`)
 * and the hint, when given, describes it.
 */
export function field(label: string, control: HTMLElement, hint?: string): HTMLElement {
  fieldCount += 1;
  const id = control.id || `f${fieldCount}`;
  control.id = id;
  if (hint) control.setAttribute("aria-describedby", `${id}-hint`);
  return h(
    "div",
    { class: "field" },
    h("label", { for: id, class: "field-label" }, label),
    control,
    hint ? h("small", { class: "hint", id: `${id}-hint` }, hint) : null,
  );
}

export function input(name: string, attrs: Attrs = {}): HTMLInputElement {
  return h("input", { name, type: "text", ...attrs });
}

export function select(name: string, options: [value: string, label: string][], selected?: string) {
  return h(
    "select",
    { name },
    options.map(([value, label]) => h("option", { value, selected: value === selected }, label)),
  );
}

/** The polite live region every page reports into (results, errors). */
export function announce(message: string, kind: "ok" | "error" = "ok"): void {
  const region = document.getElementById("status");
  if (!region) return;
  region.className = `status ${kind}`;
  region.textContent = message;
}

export function formData(form: HTMLFormElement): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of new FormData(form)) if (typeof value === "string") out[key] = value.trim();
  return out;
}

export function checked(form: HTMLFormElement, name: string): boolean {
  const el = form.elements.namedItem(name);
  return el instanceof HTMLInputElement && el.checked;
}

/** MiB in a form field -> bytes (whole numbers; empty = 0). */
export function mibToBytes(value: string | undefined): number {
  const n = Number(value || "0");
  return Number.isFinite(n) && n > 0 ? Math.round(n * 1024 * 1024) : 0;
}

export function bytesToMib(bytes: number): string {
  return String(Math.round((bytes / 1024 / 1024) * 1000) / 1000);
}
