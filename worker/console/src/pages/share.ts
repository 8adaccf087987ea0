// Owns sharing: the in-app form (expiry, password, download limit -> a link to copy) and the public
// share page /s/<token> (password unlock, file details, download, image/PDF preview, folder listing).
// The token is in the path, so the console sends no Referer (Referrer-Policy: no-referrer).
import { api, describe, readError } from "../api.ts";
import { announce, field, formatBytes, formatTime, formData, h, input } from "../dom.ts";
import type { CreatedShare, FileItem, PublicShare } from "../types.ts";
import { pdfFrame } from "./pdf-frame.ts";

export function shareForm(space: string, file: FileItem): HTMLElement {
  const result = h("div", { class: "share-box" });
  const form = h(
    "form",
    { "aria-label": `Share ${file.name}` },
    field("Expires at", input("expires_at", { type: "datetime-local" }), "Leave empty for no expiry."),
    field("Password", input("password", { type: "password", autocomplete: "new-password" }), "Optional."),
    field("Maximum downloads", input("max_downloads", { type: "number", min: 1, step: 1 }), "Optional."),
    h("button", { type: "submit" }, "Create share link"),
    result,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const v = formData(form);
    try {
      const created = await api<CreatedShare>("POST", `/api/v1/spaces/${encodeURIComponent(space)}/shares`, {
        file_id: file.id,
        expires_at: v.expires_at ? new Date(v.expires_at).toISOString() : null,
        ...(v.password ? { password: v.password } : {}),
        max_downloads: v.max_downloads ? Number(v.max_downloads) : null,
      });
      const link = new URL(created.url, location.origin).href;
      const box = h("input", {
        type: "text",
        readonly: true,
        value: link,
        "aria-label": "Share link",
        class: "share-link",
      });
      result.replaceChildren(
        field(
          "Share link",
          box,
          `Shown once. ${created.share.expires_at ? `Expires ${formatTime(created.share.expires_at)}.` : "No expiry."}${created.share.has_password ? " Password protected." : ""}`,
        ),
        h(
          "button",
          {
            type: "button",
            class: "secondary",
            onclick: async () => {
              box.select();
              try {
                await navigator.clipboard.writeText(link);
                announce("Share link copied.");
              } catch {
                announce("Copying is not allowed here; the link is selected, copy it by hand.", "error");
              }
            },
          },
          "Copy link",
        ),
      );
      announce(`Share link for "${file.name}" created.`);
    } catch (error) {
      announce(describe(error), "error");
    }
  });
  return form;
}

export async function sharePage(token: string): Promise<HTMLElement> {
  const base = `/api/v1/public/shares/${encodeURIComponent(token)}`;
  const status = h("p", { id: "status", class: "status", role: "status", "aria-live": "polite" });
  const body = h("div", {});
  const main = h("main", { id: "main", class: "center" }, h("h1", {}, "Shared with you"), status, body);
  const show = async (unlock: string | null) => {
    const info = await fetch(base, { headers: unlock ? { "x-share-unlock": unlock } : {} });
    if (!info.ok) throw await readError(info);
    const share = (await info.json()) as PublicShare;
    if (share.locked) {
      const form = h(
        "form",
        { class: "card", "aria-label": "Unlock share" },
        h("p", {}, "This share is protected by a password."),
        field("Password", input("password", { type: "password", required: true, autocomplete: "off" })),
        h("button", { type: "submit" }, "Unlock"),
      );
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        try {
          const { unlock_token } = await api<{ unlock_token: string }>(
            "POST",
            `${base}/unlock`,
            formData(form),
          );
          await show(unlock_token);
        } catch (error) {
          status.className = "status error";
          status.textContent = describe(error);
        }
      });
      body.replaceChildren(form);
      return;
    }
    const q = unlock ? `?unlock=${encodeURIComponent(unlock)}` : "";
    const file = share.file;
    body.replaceChildren(
      h(
        "section",
        { class: "card" },
        file
          ? [
              h("h2", {}, file.name),
              h("p", {}, `${formatBytes(file.size)} · ${file.content_type}`),
              share.expires_at
                ? h("p", { class: "hint" }, `Link expires ${formatTime(share.expires_at)}.`)
                : null,
              share.downloads_left != null
                ? h("p", { class: "hint" }, `${share.downloads_left} downloads left.`)
                : null,
              h(
                "a",
                { href: `${base}/content${q}`, download: file.name, class: "button-link" },
                `Download ${file.name}`,
              ),
              // A link with a download limit has no preview: a preview hands out the whole file
              // without counting (the server refuses it with preview_unsupported).
              share.downloads_left != null
                ? null
                : /^image\/(png|jpeg|gif|webp|avif)$/.test(file.content_type)
                  ? h(
                      "div",
                      { class: "preview" },
                      h("img", { src: `${base}/preview${q}`, alt: `Preview of ${file.name}` }),
                    )
                  : file.content_type === "application/pdf"
                    ? h(
                        "div",
                        { class: "preview" },
                        pdfFrame(`${base}/preview${q}`, `Preview of ${file.name}`),
                      )
                    : null,
            ]
          : h("h2", {}, share.folder?.name ?? "Shared folder"),
      ),
    );
  };
  await show(null).catch((error) => {
    status.className = "status error";
    status.textContent = describe(error);
  });
  return main;
}
