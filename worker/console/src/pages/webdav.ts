// Owns the WebDAV page: the WebDAV URL of this primary and how to connect from rclone, macOS,
// Windows and Linux file managers, and the user's app passwords (created with an optional read-only
// scope and shown once, listed without their values, revoked).
import { api, describe } from "../api.ts";
import { announce, checked, field, formatTime, formData, h, input } from "../dom.ts";
import type { PageContext } from "../nav.ts";
import type { AppPassword, CreatedAppPassword } from "../types.ts";

async function copy(text: string, what: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
    announce(`${what} copied.`);
  } catch {
    announce("Copying is not allowed here; select the text and copy it by hand.", "error");
  }
}

function connectHelp(url: string, username: string): HTMLElement {
  const host = new URL(url).host;
  const secure = url.startsWith("https:");
  const step = (title: string, ...body: (Node | string | null)[]) =>
    h("details", {}, h("summary", {}, title), h("div", { class: "help" }, ...body));
  return h(
    "section",
    { class: "card", "aria-labelledby": "connect-title" },
    h("h2", { id: "connect-title" }, "How to connect"),
    h(
      "p",
      {},
      "Sign in with your username ",
      h("strong", {}, username),
      " and an app password from below (never your account password). Your own files are at the root; ",
      "the spaces of your teams are under ",
      h("code", {}, "Team spaces/"),
      ".",
    ),
    step(
      "rclone",
      h(
        "pre",
        {},
        h(
          "code",
          {},
          `rclone config create flotilla webdav url=${url} vendor=other user=${username} pass=$(rclone obscure 'APP-PASSWORD')\nrclone sync ./photos flotilla:photos`,
        ),
      ),
    ),
    step(
      "macOS Finder",
      h(
        "p",
        {},
        "Go → Connect to Server… (⌘K), enter ",
        h("code", {}, url),
        ", choose Connect, then Registered User with your username and the app password.",
      ),
    ),
    step(
      "Windows File Explorer",
      h(
        "p",
        {},
        "This PC → Map network drive → Connect to a Web site…, enter ",
        h("code", {}, url),
        ", then your username and the app password. Or in a terminal: ",
        h("code", {}, `net use * ${url} /user:${username} *`),
        ".",
      ),
      secure
        ? null
        : h(
            "p",
            { class: "hint" },
            "Windows sends passwords only over HTTPS unless its WebClient service is told otherwise; put HTTPS in front of this primary.",
          ),
    ),
    step(
      "Linux (GNOME Files, KDE Dolphin, davfs2)",
      h(
        "p",
        {},
        "GNOME Files: Other Locations → Connect to Server, ",
        h("code", {}, `${secure ? "davs" : "dav"}://${host}/dav/`),
        ". Dolphin: ",
        h("code", {}, `${secure ? "webdavs" : "webdav"}://${host}/dav/`),
        ". davfs2: ",
        h("code", {}, `mount -t davfs ${url} /mnt/flotilla`),
        ".",
      ),
    ),
    h(
      "p",
      { class: "hint" },
      "On Cloudflare Workers one PUT can carry at most the plan's request body limit (100 MB on most plans); the single-box stack takes files of any size.",
    ),
  );
}

function passwordRows(list: AppPassword[], reload: () => Promise<void>): HTMLElement {
  if (list.length === 0) return h("p", { class: "hint" }, "No app passwords yet.");
  const revoke = (item: AppPassword) => async () => {
    try {
      await api("DELETE", `/api/v1/auth/app-passwords/${encodeURIComponent(item.id)}`);
      await reload();
      announce(`App password "${item.name}" revoked; clients using it are refused from now on.`);
    } catch (error) {
      announce(describe(error), "error");
    }
  };
  return h(
    "table",
    { class: "list" },
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        ["Name", "Scope", "Last used", "Created", "Action"].map((c) => h("th", { scope: "col" }, c)),
      ),
    ),
    h(
      "tbody",
      {},
      list.map((item) =>
        h(
          "tr",
          {},
          h("th", { scope: "row" }, item.name),
          h("td", { "data-label": "Scope" }, item.read_only ? "read only" : "read and write"),
          h("td", { "data-label": "Last used" }, formatTime(item.last_used_at)),
          h("td", { "data-label": "Created" }, formatTime(item.created_at)),
          h(
            "td",
            { "data-label": "Action" },
            h(
              "button",
              {
                type: "button",
                class: "danger",
                "aria-label": `Revoke ${item.name}`,
                onclick: revoke(item),
              },
              "Revoke",
            ),
          ),
        ),
      ),
    ),
  );
}

export async function webdavPage(ctx: PageContext): Promise<Node> {
  const url = `${location.origin}/dav/`;
  const listing = h("div", {});
  const shown = h("div", { class: "enroll-output" });
  const reload = async () => {
    const { app_passwords } = await api<{ app_passwords: AppPassword[] }>(
      "GET",
      "/api/v1/auth/app-passwords",
    );
    listing.replaceChildren(passwordRows(app_passwords, reload));
  };
  await reload();
  const form = h(
    "form",
    { "aria-labelledby": "new-app-password" },
    h("h3", { id: "new-app-password" }, "New app password"),
    field(
      "Name",
      input("name", { required: true, maxlength: 100, autocomplete: "off" }),
      "e.g. laptop rclone",
    ),
    h("label", { class: "check" }, h("input", { type: "checkbox", name: "read_only" }), " Read only"),
    h("button", { type: "submit" }, "Create app password"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const v = formData(form);
    void (async () => {
      try {
        const created = await api<CreatedAppPassword>("POST", "/api/v1/auth/app-passwords", {
          name: v.name,
          read_only: checked(form, "read_only"),
        });
        shown.replaceChildren(
          h("p", {}, `App password "${created.name}" (shown once; store it in your client now):`),
          h("pre", {}, h("code", { id: "new-app-password-value" }, created.password)),
          h(
            "button",
            { type: "button", onclick: () => void copy(created.password, "App password") },
            "Copy app password",
          ),
        );
        form.reset();
        await reload();
        announce(`App password "${created.name}" created.`);
      } catch (error) {
        announce(describe(error), "error");
      }
    })();
  });
  return h(
    "section",
    {},
    h("h1", {}, "WebDAV"),
    h(
      "section",
      { class: "card", "aria-labelledby": "url-title" },
      h("h2", { id: "url-title" }, "WebDAV URL"),
      h("pre", {}, h("code", { id: "webdav-url" }, url)),
      h(
        "button",
        { type: "button", class: "secondary", onclick: () => void copy(url, "WebDAV URL") },
        "Copy URL",
      ),
    ),
    connectHelp(url, ctx.user.username),
    h(
      "section",
      { class: "card", "aria-labelledby": "app-passwords-title" },
      h("h2", { id: "app-passwords-title" }, "App passwords"),
      h(
        "p",
        { class: "hint" },
        "Each client gets its own; revoke one and only that client is locked out. Failed sign-ins count against the login limits.",
      ),
      listing,
      form,
      shown,
    ),
  );
}
