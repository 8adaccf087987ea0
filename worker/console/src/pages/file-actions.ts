// Owns what the file manager does to items besides opening them: rename, move to another folder
// (a folder browser that never offers an item's own subtree as the destination), and the same for
// several selected items at once, with delete and download. Refusals (name_conflict, folder_cycle, ...)
// are shown in the API's words.
import { api, describe } from "../api.ts";
import { announce, field, h, input } from "../dom.ts";
import type { Item, Listing } from "../types.ts";

const enc = encodeURIComponent;

export function itemUrl(space: string, item: Item): string {
  return `/api/v1/spaces/${enc(space)}/${item.type === "file" ? "files" : "folders"}/${enc(item.id)}`;
}

/** Moves one item into `folderId` (null = the space's root). */
export function moveItem(space: string, item: Item, folderId: string | null): Promise<unknown> {
  return api(
    "PATCH",
    itemUrl(space, item),
    item.type === "file" ? { folder_id: folderId } : { parent_id: folderId },
  );
}

/** Runs `work` on each item in turn; one sentence of what happened, refusals named with their reason. */
export async function eachItem(
  items: Item[],
  verb: string,
  work: (item: Item) => Promise<unknown>,
): Promise<{ message: string; ok: boolean }> {
  const refused: string[] = [];
  let done = 0;
  for (const item of items) {
    try {
      await work(item);
      done += 1;
    } catch (error) {
      refused.push(`"${item.name}": ${describe(error)}`);
    }
  }
  const head = `${done} of ${items.length} ${items.length === 1 ? "item" : "items"} ${verb}.`;
  return {
    message: refused.length ? `${head} Refused: ${refused.join("; ")}` : head,
    ok: refused.length === 0,
  };
}

/** The rename form: the current name, selected up to its extension, saved with PATCH. */
export function renameForm(space: string, item: Item, done: (message: string) => void): HTMLElement {
  const name = input("name", { required: true, value: item.name, "aria-label": "New name" });
  const status = h("p", { class: "status", role: "status" });
  const form = h(
    "form",
    { "aria-label": `Rename ${item.name}` },
    field("New name", name),
    h("button", { type: "submit" }, "Rename"),
    status,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api("PATCH", itemUrl(space, item), { name: name.value });
      done(`"${item.name}" renamed to "${name.value}".`);
    } catch (error) {
      status.className = "status error";
      status.textContent = describe(error);
      announce(describe(error), "error");
    }
  });
  queueMicrotask(() => {
    name.focus();
    const dot = item.type === "file" ? item.name.lastIndexOf(".") : -1;
    name.setSelectionRange(0, dot > 0 ? dot : item.name.length);
  });
  return form;
}

/**
 * A folder browser for the destination of a move: starts at the root, opens subfolders, goes up, and
 * moves the items into the folder shown. Folders being moved are not offered to open (no cycles); the
 * API refuses anything else with folder_cycle or name_conflict, shown here in its words.
 */
export function moveForm(
  space: string,
  items: Item[],
  rootLabel: string,
  done: (message: string, ok: boolean) => void,
): HTMLElement {
  const moving = new Set(items.filter((i) => i.type === "folder").map((i) => i.id));
  const where = h("p", { "data-testid": "move-location" });
  const list = h("ul", { class: "inline", "aria-label": "Folders here" });
  const status = h("p", { class: "status", role: "status" });
  const here = h("button", { type: "button" }, "Move here");
  const up = h("button", { type: "button", class: "secondary" }, "Up");
  let trail: { id: string; name: string }[] = [];
  const current = () => trail.at(-1)?.id ?? null;

  const show = async () => {
    const folder = current();
    const query = new URLSearchParams({ limit: "200", ...(folder ? { folder_id: folder } : {}) });
    const listing = await api<Listing>("GET", `/api/v1/spaces/${enc(space)}/items?${query}`);
    where.textContent = `Destination: ${[rootLabel, ...trail.map((t) => t.name)].join(" / ")}`;
    up.hidden = trail.length === 0;
    const folders = listing.items.filter((i) => i.type === "folder" && !moving.has(i.id));
    list.replaceChildren(
      ...(folders.length
        ? folders.map((f) =>
            h(
              "li",
              {},
              h(
                "button",
                {
                  type: "button",
                  class: "secondary",
                  "aria-label": `Open folder ${f.name}`,
                  onclick: () => {
                    trail = [...trail, { id: f.id, name: f.name }];
                    void show().catch(fail);
                  },
                },
                `📁 ${f.name}`,
              ),
            ),
          )
        : [h("li", {}, "No folders here.")]),
    );
  };
  const fail = (error: unknown) => {
    status.className = "status error";
    status.textContent = describe(error);
  };
  up.addEventListener("click", () => {
    trail = trail.slice(0, -1);
    void show().catch(fail);
  });
  here.addEventListener("click", async () => {
    const target = current();
    const outcome = await eachItem(items, "moved", (item) => moveItem(space, item, target));
    if (outcome.ok) {
      done(outcome.message, true);
      return;
    }
    status.className = "status error";
    status.textContent = outcome.message;
    done(outcome.message, false);
  });
  void show().catch(fail);
  return h(
    "div",
    { role: "group", "aria-label": "Move destination" },
    where,
    list,
    h("div", { class: "toolbar" }, up, here),
    status,
  );
}
