// Owns what pages know of the shell: the context a page is rendered with and client-side navigation.
// The shell (main.ts) registers how to render; pages import this module, never the shell itself.
import type { MyTeam, User } from "./types.ts";

export interface PageContext {
  user: User;
  /** The teams whose spaces the user can use (from /api/v1/auth/me). */
  teams: MyTeam[];
  params: string[];
  query: URLSearchParams;
  /** Re-renders the current page (after a change). */
  refresh(): Promise<void>;
}

let renderPage: () => Promise<void> = async () => {};

/** The shell's renderer, called after every navigation. */
export function onNavigate(render: () => Promise<void>): void {
  renderPage = render;
}

export function navigate(path: string): void {
  history.pushState(null, "", path);
  void renderPage();
}
