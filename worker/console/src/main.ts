// Owns the console's shell: who is logged in, the page layout (header, navigation, live status
// region), client-side routing over History API paths, and logout. Pages are functions that return
// a DOM node; they never touch the shell.
import { ApiError, api, describe } from "./api.ts";
import { announce, h } from "./dom.ts";
import { navigate, onNavigate, type PageContext } from "./nav.ts";
import { filesPage, trashPage } from "./pages/files.ts";
import { loginPage } from "./pages/login.ts";
import { movesPage } from "./pages/moves.ts";
import { nodeDetailsPage } from "./pages/node-details.ts";
import { nodesPage } from "./pages/nodes.ts";
import { policiesPage } from "./pages/policies.ts";
import { policyGroupsPage } from "./pages/policy-groups.ts";
import { sharePage } from "./pages/share.ts";
import { teamDetailsPage, teamsPage } from "./pages/teams.ts";
import { userDetailsPage, usersPage } from "./pages/users.ts";
import { webdavPage } from "./pages/webdav.ts";
import type { MyTeam, User } from "./types.ts";

type Page = (ctx: PageContext) => Promise<Node>;
interface Route {
  pattern: RegExp;
  title: string;
  page: Page;
  admin?: boolean;
}

const routes: Route[] = [
  { pattern: /^\/(?:files)?\/?$/, title: "Files", page: filesPage },
  { pattern: /^\/files\/([^/]+)(?:\/([^/]+))?$/, title: "Files", page: filesPage },
  { pattern: /^\/trash(?:\/([^/]+))?$/, title: "Trash", page: trashPage },
  { pattern: /^\/webdav$/, title: "WebDAV", page: webdavPage },
  { pattern: /^\/admin\/nodes$/, title: "Follower Nodes", page: nodesPage, admin: true },
  { pattern: /^\/admin\/nodes\/([^/]+)$/, title: "Node Details", page: nodeDetailsPage, admin: true },
  { pattern: /^\/admin\/policies$/, title: "Storage Policies", page: policiesPage, admin: true },
  { pattern: /^\/admin\/moves$/, title: "Move Files", page: movesPage, admin: true },
  { pattern: /^\/admin\/policy-groups$/, title: "Policy Groups", page: policyGroupsPage, admin: true },
  { pattern: /^\/admin\/users$/, title: "Users", page: usersPage, admin: true },
  { pattern: /^\/admin\/users\/([^/]+)$/, title: "User Details", page: userDetailsPage, admin: true },
  { pattern: /^\/admin\/teams$/, title: "Teams", page: teamsPage, admin: true },
  { pattern: /^\/admin\/teams\/([^/]+)$/, title: "Team Details", page: teamDetailsPage, admin: true },
];

interface Session {
  user: User;
  teams: MyTeam[];
}

let session: Session | null = null;

function navLink(href: string, label: string): HTMLElement {
  const here = location.pathname === href || (href !== "/files" && location.pathname.startsWith(`${href}/`));
  return h("li", {}, h("a", { href, "aria-current": here ? "page" : null }, label));
}

function shell(user: User, title: string, content: Node): HTMLElement {
  const admin = user.role === "admin";
  return h(
    "div",
    { class: "shell" },
    h(
      "header",
      { class: "top" },
      h("a", { href: "/files", class: "brand" }, "Flotilla"),
      h(
        "nav",
        { "aria-label": "Main" },
        h(
          "ul",
          {},
          navLink("/files", "Files"),
          navLink("/trash", "Trash"),
          navLink("/webdav", "WebDAV"),
          admin && navLink("/admin/nodes", "Follower Nodes"),
          admin && navLink("/admin/policies", "Storage Policies"),
          admin && navLink("/admin/moves", "Move Files"),
          admin && navLink("/admin/policy-groups", "Policy Groups"),
          admin && navLink("/admin/users", "Users"),
          admin && navLink("/admin/teams", "Teams"),
        ),
      ),
      h(
        "div",
        { class: "who" },
        h("span", {}, user.display_name || user.username),
        h("button", { type: "button", class: "secondary", onclick: logout }, "Log out"),
      ),
    ),
    h(
      "main",
      { id: "main" },
      h("p", { id: "status", class: "status", role: "status", "aria-live": "polite" }),
      admin && !["Files", "Trash", "WebDAV"].includes(title)
        ? h("p", { class: "crumb" }, "Admin → ", title)
        : null,
      content,
    ),
  );
}

async function logout(): Promise<void> {
  await api("POST", "/api/v1/auth/logout").catch(() => undefined);
  session = null;
  navigate("/login");
}

async function whoAmI(): Promise<Session | null> {
  try {
    return await api<Session>("GET", "/api/v1/auth/me");
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return null;
    throw error;
  }
}

export async function render(): Promise<void> {
  const root = document.getElementById("app")!;
  const path = location.pathname;
  const query = new URLSearchParams(location.search);
  const shareMatch = /^\/s\/([^/]+)$/.exec(path);
  if (shareMatch) {
    document.title = "Shared file · Flotilla";
    root.replaceChildren(await sharePage(decodeURIComponent(shareMatch[1]!)));
    return;
  }
  if (path === "/login") {
    document.title = "Log in · Flotilla";
    root.replaceChildren(
      loginPage(query.get("next"), () => {
        session = null;
        navigate(safeNext(query.get("next")));
      }),
    );
    return;
  }
  session ??= await whoAmI();
  if (!session) {
    navigate(`/login?next=${encodeURIComponent(path + location.search)}`);
    return;
  }
  const { user, teams } = session;
  const route = routes.find((r) => r.pattern.test(path));
  let content: Node;
  let title = "Not found";
  if (!route) content = h("h1", {}, "Not found");
  else if (route.admin && user.role !== "admin") content = h("h1", {}, "Admins only");
  else {
    title = route.title;
    const params = (route.pattern.exec(path) ?? []).slice(1).map((p) => (p ? decodeURIComponent(p) : ""));
    try {
      content = await route.page({ user, teams, params, query, refresh: render });
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) {
        session = null;
        navigate(`/login?next=${encodeURIComponent(path)}`);
        return;
      }
      content = h("div", {}, h("h1", {}, title), h("p", { class: "status error" }, describe(error)));
    }
  }
  document.title = `${title} · Flotilla`;
  const status = document.getElementById("status");
  const keep = status ? { text: status.textContent ?? "", cls: status.className } : null;
  root.replaceChildren(shell(user, title, content));
  if (keep?.text) {
    const fresh = document.getElementById("status")!;
    fresh.textContent = keep.text;
    fresh.className = keep.cls;
  }
}

/** Only same-site paths are followed after login (no open redirect). */
function safeNext(next: string | null): string {
  return next?.startsWith("/") && !next.startsWith("//") ? next : "/files";
}

document.addEventListener("click", (event) => {
  const link = (event.target as Element | null)?.closest?.("a");
  if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey) return;
  const href = link.getAttribute("href");
  if (
    !href?.startsWith("/") ||
    href.startsWith("//") ||
    href.startsWith("/api/") ||
    link.hasAttribute("download")
  )
    return;
  if (link.target && link.target !== "_self") return;
  event.preventDefault();
  navigate(href);
});
window.addEventListener("popstate", () => void render());
onNavigate(render);
void render().catch((error) => announce(describe(error), "error"));
