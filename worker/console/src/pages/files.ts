// Owns the file manager: personal and team spaces, folders with breadcrumbs, upload by picker or
// drag and drop (uploads.ts), download, image/PDF preview, share links, an admin's view of where a
// file is stored, rename and move (file-actions.ts), sorting by name, size or date, several items
// selected at once to download, move or delete, delete to trash, and the trash page with restore and
// purge. URLs: /files/<space>/<folder?>?sort=name|size|modified&order=asc|desc, /trash/<space?>.
import { api, describe } from "../api.ts";
import { announce, field, formatBytes, formatTime, formData, h, input } from "../dom.ts";
import { navigate, type PageContext } from "../nav.ts";
import type { FileItem, FileStorage, FollowerNode, Item, Listing } from "../types.ts";
import { enqueue, resumeUnfinished, uploadPanel } from "../uploads.ts";
import { act } from "./act.ts";
import { eachItem, itemUrl, moveForm, renameForm } from "./file-actions.ts";
import { pdfFrame } from "./pdf-frame.ts";
import { shareForm } from "./share.ts";

const enc = encodeURIComponent;
const previewable = (type: string) =>
  /^image\/(png|jpeg|gif|webp|avif)$/.test(type) || type === "application/pdf";

export function contentUrl(space: string, id: string): string {
  return `/api/v1/spaces/${enc(space)}/files/${enc(id)}/content`;
}

/** My files and the spaces of the user's teams (team uploads follow the team's policy group). */
function spacePicker(ctx: PageContext, space: string): HTMLElement {
  const spaces: [string, string][] = [
    ["me", "My files"],
    ...ctx.teams.map((t): [string, string] => [t.id, `Team: ${t.name}`]),
  ];
  if (!spaces.some(([id]) => id === space)) spaces.push([space, `Space ${space.slice(0, 8)}`]);
  const picker = h(
    "select",
    { name: "space", "aria-label": "Space" },
    spaces.map(([id, label]) => h("option", { value: id, selected: id === space }, label)),
  );
  picker.addEventListener("change", () => navigate(`/files/${enc(picker.value)}`));
  return picker;
}

/**
 * Images load straight from the preview endpoint; PDFs go through pdfFrame (see pdf-frame.ts for why).
 */
function preview(space: string, file: FileItem): HTMLElement {
  const url = `/api/v1/spaces/${enc(space)}/files/${enc(file.id)}/preview`;
  if (file.content_type !== "application/pdf") {
    return h("div", { class: "preview" }, h("img", { src: url, alt: `Preview of ${file.name}` }));
  }
  return h("div", { class: "preview" }, pdfFrame(url, `Preview of ${file.name}`));
}

/**
 * The admin's view of where a file lives (tutorial §9): its storage policy, the follower node behind a
 * remote policy, and whether that storage has the object now (GET /admin/files/{id}/storage).
 */
function storageView(file: FileItem): HTMLElement {
  const out = h(
    "dl",
    { class: "facts", "data-testid": "file-storage" },
    h("dt", {}, "Storage policy"),
    h("dd", {}, "Working…"),
  );
  void Promise.all([
    api<FileStorage>("GET", `/api/v1/admin/files/${enc(file.id)}/storage`),
    api<{ nodes: FollowerNode[] }>("GET", "/api/v1/admin/nodes"),
  ]).then(
    ([where, { nodes }]) => {
      const node = where.policy.node_id
        ? (nodes.find((n) => n.id === where.policy.node_id)?.name ?? where.policy.node_id)
        : null;
      out.replaceChildren(
        h("dt", {}, "Storage policy"),
        h("dd", {}, `${where.policy.name} (${where.policy.driver})`),
        h("dt", {}, "Follower node"),
        h("dd", {}, node ?? "none (not a remote policy)"),
        h("dt", {}, "Object"),
        h(
          "dd",
          {},
          where.object.exists
            ? `present, ${formatBytes(where.object.size)} (checked ${formatTime(where.checked_at)})`
            : `missing (checked ${formatTime(where.checked_at)})`,
        ),
      );
    },
    (error: unknown) =>
      out.replaceChildren(h("dt", {}, "Storage policy"), h("dd", { class: "status error" }, describe(error))),
  );
  return out;
}

/** The one panel above the list that shows a file's preview or share form (full width, phone friendly). */
function filePanel(): HTMLElement {
  return h("section", { class: "card", id: "file-panel", hidden: true, "aria-live": "polite" });
}

function openPanel(title: string, content: HTMLElement): void {
  const panel = document.getElementById("file-panel");
  if (!panel) return;
  const close = h(
    "button",
    { type: "button", class: "secondary", onclick: () => (panel.hidden = true) },
    "Close",
  );
  panel.replaceChildren(h("div", { class: "toolbar" }, h("h2", {}, title), close), content);
  panel.hidden = false;
  panel.scrollIntoView({ block: "nearest" });
}

/** The page's selection: items chosen with their checkboxes, for the bulk actions above the list. */
interface Selection {
  items: Map<string, Item>;
  changed(): void;
}

function spaceLabel(ctx: PageContext, space: string): string {
  return space === "me" ? "My files" : (ctx.teams.find((t) => t.id === space)?.name ?? "Team files");
}

/** After a change made from a panel: re-render, then say what happened. */
async function changed(ctx: PageContext, message: string, ok = true): Promise<void> {
  await ctx.refresh();
  announce(message, ok ? "ok" : "error");
}

function fileRow(ctx: PageContext, space: string, item: Item, selection: Selection): HTMLElement {
  const remove = act(ctx, async () => {
    await api("DELETE", itemUrl(space, item));
    return `"${item.name}" moved to the trash.`;
  });
  const toggle = (label: string, build: () => HTMLElement) =>
    h(
      "button",
      {
        type: "button",
        class: "secondary",
        "aria-label": `${label} ${item.name}`,
        onclick: () => openPanel(`${label}: ${item.name}`, build()),
      },
      label,
    );
  const pick = h("input", { type: "checkbox", "aria-label": `Select ${item.name}` });
  pick.checked = selection.items.has(item.id);
  pick.addEventListener("change", () => {
    if (pick.checked) selection.items.set(item.id, item);
    else selection.items.delete(item.id);
    selection.changed();
  });
  return h(
    "tr",
    { "data-item": item.name },
    h("td", { class: "pick" }, pick),
    h(
      "th",
      { scope: "row" },
      item.type === "folder"
        ? h("a", { href: `/files/${enc(space)}/${enc(item.id)}` }, "📁 ", item.name)
        : h("a", { href: contentUrl(space, item.id), download: item.name }, item.name),
    ),
    h("td", { "data-label": "Size" }, item.type === "file" ? formatBytes(item.size) : "—"),
    h("td", { "data-label": "Modified" }, formatTime(item.updated_at)),
    h(
      "td",
      { class: "actions" },
      item.type === "file"
        ? h(
            "a",
            {
              href: contentUrl(space, item.id),
              download: item.name,
              class: "button-link",
              "aria-label": `Download ${item.name}`,
            },
            "Download",
          )
        : null,
      item.type === "file" && previewable(item.content_type)
        ? toggle("Preview", () => preview(space, item))
        : null,
      item.type === "file" ? toggle("Share", () => shareForm(space, item)) : null,
      item.type === "file" && ctx.user.role === "admin" ? toggle("Storage", () => storageView(item)) : null,
      toggle("Rename", () => renameForm(space, item, (message) => void changed(ctx, message))),
      toggle("Move", () =>
        moveForm(space, [item], spaceLabel(ctx, space), (message, ok) => void changed(ctx, message, ok)),
      ),
      h(
        "button",
        { type: "button", class: "danger", "aria-label": `Delete ${item.name}`, onclick: remove },
        "Delete",
      ),
    ),
  );
}

/** Download, move or delete every selected item; shown while something is selected. */
function bulkBar(ctx: PageContext, space: string, selection: Selection): HTMLElement {
  const count = h("span", { "data-testid": "selected-count" });
  const chosen = () => [...selection.items.values()];
  const download = h("button", { type: "button", class: "secondary" }, "Download selected");
  download.addEventListener("click", () => {
    const files = chosen().filter((i) => i.type === "file");
    for (const file of files) {
      const link = h("a", { href: contentUrl(space, file.id), download: file.name, hidden: true });
      document.body.append(link);
      link.click();
      link.remove();
    }
    const skipped = chosen().length - files.length;
    announce(
      `Downloading ${files.length} ${files.length === 1 ? "file" : "files"}${skipped ? ` (${skipped} folders skipped: download their files from inside)` : ""}.`,
    );
  });
  const move = h("button", { type: "button", class: "secondary" }, "Move selected");
  move.addEventListener("click", () =>
    openPanel(
      `Move ${chosen().length} items`,
      moveForm(space, chosen(), spaceLabel(ctx, space), (message, ok) => void changed(ctx, message, ok)),
    ),
  );
  const remove = h("button", { type: "button", class: "danger" }, "Delete selected");
  remove.addEventListener("click", async () => {
    const items = chosen();
    if (!confirm(`Move ${items.length} items to the trash?`)) return;
    const outcome = await eachItem(items, "moved to the trash", (item) =>
      api("DELETE", itemUrl(space, item)),
    );
    await changed(ctx, outcome.message, outcome.ok);
  });
  const clear = h("button", { type: "button", class: "secondary" }, "Clear selection");
  const bar = h(
    "div",
    { class: "toolbar", role: "toolbar", "aria-label": "Selected items", hidden: true },
    count,
    download,
    move,
    remove,
    clear,
  );
  const update = () => {
    const n = selection.items.size;
    bar.hidden = n === 0;
    count.textContent = `${n} selected`;
  };
  clear.addEventListener("click", () => {
    selection.items.clear();
    for (const box of document.querySelectorAll<HTMLInputElement>("td.pick input")) box.checked = false;
    selection.changed();
  });
  const previous = selection.changed;
  selection.changed = () => {
    previous();
    update();
  };
  update();
  return bar;
}

type Sort = "name" | "size" | "modified";

/** A column header that sorts the listing by it; a second activation reverses the order. */
function sortHeader(label: string, sort: Sort, query: URLSearchParams): HTMLElement {
  const current = (query.get("sort") ?? "name") as Sort;
  const order = query.get("order") === "desc" ? "desc" : "asc";
  const active = current === sort;
  const next = new URLSearchParams({ sort, order: active && order === "asc" ? "desc" : "asc" });
  return h(
    "th",
    { scope: "col", "aria-sort": active ? (order === "asc" ? "ascending" : "descending") : "none" },
    h(
      "button",
      {
        type: "button",
        class: "sort",
        "aria-label": `Sort by ${label.toLowerCase()}${active && order === "asc" ? ", descending" : ""}`,
        onclick: () => navigate(`${location.pathname}?${next}`),
      },
      label,
      active ? (order === "asc" ? " ▲" : " ▼") : "",
    ),
  );
}

function dropzone(space: string, folderId: string | null): HTMLElement {
  const picker = h("input", { type: "file", multiple: true, id: "file-picker", class: "sr-only" });
  picker.addEventListener("change", () => {
    enqueue(space, folderId, [...(picker.files ?? [])]);
    picker.value = "";
  });
  const zone = h(
    "div",
    { class: "dropzone", "aria-label": "Upload files" },
    h("p", {}, "Drop files here, or "),
    h("label", { for: "file-picker", class: "button-link", tabindex: 0 }, "Choose files to upload"),
    picker,
  );
  zone.querySelector("label")!.addEventListener("keydown", (e) => {
    if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      picker.click();
    }
  });
  zone.addEventListener("dragover", (e) => {
    e.preventDefault();
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    enqueue(space, folderId, [...(e.dataTransfer?.files ?? [])]);
  });
  return zone;
}

/** The listing table; "Load more" appends the next page (the API pages with a cursor). */
function fileTable(
  ctx: PageContext,
  space: string,
  query: URLSearchParams,
  listing: Listing,
  selection: Selection,
): HTMLElement {
  const row = (item: Item) => fileRow(ctx, space, item, selection);
  const body = h("tbody", {}, listing.items.map(row));
  let cursor = listing.next_cursor;
  const more = h("button", { type: "button", class: "secondary", hidden: !cursor }, "Load more");
  // Disabled while a page loads: a second click (a double click) would fetch and append it twice.
  more.addEventListener("click", async () => {
    if (!cursor || more.disabled) return;
    more.disabled = true;
    try {
      const next = await api<Listing>(
        "GET",
        `/api/v1/spaces/${enc(space)}/items?${query}&cursor=${enc(cursor)}`,
      );
      body.append(...next.items.map(row));
      cursor = next.next_cursor;
      more.hidden = !cursor;
    } catch (error) {
      announce(describe(error), "error");
    } finally {
      more.disabled = false;
    }
  });
  const all = h("input", { type: "checkbox", "aria-label": "Select all items shown" });
  all.addEventListener("change", () => {
    for (const box of body.querySelectorAll<HTMLInputElement>("td.pick input")) {
      if (box.checked !== all.checked) {
        box.checked = all.checked;
        box.dispatchEvent(new Event("change"));
      }
    }
  });
  return h(
    "div",
    {},
    h(
      "table",
      { class: "list files" },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          h("th", { scope: "col", class: "pick" }, all),
          sortHeader("Name", "name", query),
          sortHeader("Size", "size", query),
          sortHeader("Modified", "modified", query),
          h("th", { scope: "col" }, "Actions"),
        ),
      ),
      body,
    ),
    more,
  );
}

export async function filesPage(ctx: PageContext): Promise<Node> {
  const space = ctx.params[0] || "me";
  const folderId = ctx.params[1] || null;
  const query = new URLSearchParams({ limit: "200", ...(folderId ? { folder_id: folderId } : {}) });
  const sort = ctx.query.get("sort");
  if (sort === "name" || sort === "size" || sort === "modified") query.set("sort", sort);
  if (ctx.query.get("order") === "desc") query.set("order", "desc");
  const selection: Selection = { items: new Map(), changed: () => {} };
  const listing = await api<Listing>("GET", `/api/v1/spaces/${enc(space)}/items?${query}`);
  void resumeUnfinished().catch((error) =>
    announce(`Could not look for unfinished uploads: ${error}`, "error"),
  );
  const newFolder = h(
    "form",
    { "aria-label": "New folder" },
    field("Folder name", input("name", { required: true })),
    h("button", { type: "submit", class: "secondary" }, "Create folder"),
  );
  newFolder.addEventListener("submit", (event) => {
    event.preventDefault();
    const { name } = formData(newFolder);
    void act(ctx, async () => {
      await api("POST", `/api/v1/spaces/${enc(space)}/folders`, { name, parent_id: folderId });
      return `Folder "${name}" created.`;
    })();
  });
  return h(
    "section",
    {},
    h(
      "div",
      { class: "toolbar" },
      h("h1", {}, "Files"),
      spacePicker(ctx, space),
      h("a", { href: `/trash/${enc(space)}` }, "Trash"),
    ),
    h(
      "nav",
      { "aria-label": "Folder path" },
      h(
        "ol",
        { class: "breadcrumbs" },
        h("li", {}, h("a", { href: `/files/${enc(space)}` }, spaceLabel(ctx, space))),
        listing.path.map((p) => h("li", {}, h("a", { href: `/files/${enc(space)}/${enc(p.id)}` }, p.name))),
      ),
    ),
    dropzone(space, folderId),
    uploadPanel(() => ctx.refresh()),
    filePanel(),
    h("div", { class: "toolbar" }, newFolder),
    bulkBar(ctx, space, selection),
    listing.items.length === 0
      ? h("p", {}, "This folder is empty.")
      : fileTable(ctx, space, query, listing, selection),
  );
}

export async function trashPage(ctx: PageContext): Promise<Node> {
  const space = ctx.params[0] || "me";
  const base = `/api/v1/spaces/${enc(space)}/trash`;
  const { items } = await api<{ items: Item[] }>("GET", `${base}?limit=200`);
  const kind = (item: Item) => (item.type === "file" ? "files" : "folders");
  return h(
    "section",
    {},
    h(
      "div",
      { class: "toolbar" },
      h("h1", {}, "Trash"),
      h("a", { href: `/files/${enc(space)}` }, "Back to files"),
    ),
    items.length === 0
      ? h("p", {}, "The trash is empty.")
      : [
          h(
            "table",
            { class: "list" },
            h(
              "thead",
              {},
              h(
                "tr",
                {},
                ["Name", "Size", "Deleted", "Actions"].map((c) => h("th", { scope: "col" }, c)),
              ),
            ),
            h(
              "tbody",
              {},
              items.map((item) =>
                h(
                  "tr",
                  { "data-item": item.name },
                  h("th", { scope: "row" }, item.type === "folder" ? `📁 ${item.name}` : item.name),
                  h("td", { "data-label": "Size" }, item.type === "file" ? formatBytes(item.size) : "—"),
                  h("td", { "data-label": "Deleted" }, formatTime(item.trashed_at)),
                  h(
                    "td",
                    { class: "actions" },
                    h(
                      "button",
                      {
                        type: "button",
                        "aria-label": `Restore ${item.name}`,
                        onclick: act(ctx, async () => {
                          await api("POST", `${base}/${kind(item)}/${enc(item.id)}/restore`);
                          return `"${item.name}" restored.`;
                        }),
                      },
                      "Restore",
                    ),
                    h(
                      "button",
                      {
                        type: "button",
                        class: "danger",
                        "aria-label": `Delete ${item.name} forever`,
                        onclick: async () => {
                          if (!confirm(`Delete "${item.name}" forever?`)) return;
                          await act(ctx, async () => {
                            await api("DELETE", `${base}/${kind(item)}/${enc(item.id)}`);
                            return `"${item.name}" deleted forever.`;
                          })();
                        },
                      },
                      "Delete forever",
                    ),
                  ),
                ),
              ),
            ),
          ),
          h(
            "button",
            {
              type: "button",
              class: "danger",
              onclick: async () => {
                if (!confirm("Empty the trash? Everything in it is deleted forever.")) return;
                await act(ctx, async () => {
                  await api("DELETE", base);
                  return "Trash emptied.";
                })();
              },
            },
            "Empty trash",
          ),
        ],
  );
}
