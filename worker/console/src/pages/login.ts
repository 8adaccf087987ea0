// Owns the login form: browser login (session cookie set by the primary), errors shown as they come.
import { api, describe } from "../api.ts";
import { field, formData, h, input } from "../dom.ts";
import type { User } from "../types.ts";

export function loginPage(next: string | null, onLoggedIn: (user: User) => void): HTMLElement {
  const status = h("p", { id: "login-status", class: "status", role: "status", "aria-live": "polite" });
  const form = h(
    "form",
    { class: "card narrow", "aria-labelledby": "login-title" },
    h("h1", { id: "login-title" }, "Log in to Flotilla"),
    field("Username", input("username", { autocomplete: "username", required: true, autofocus: true })),
    field(
      "Password",
      input("password", { type: "password", autocomplete: "current-password", required: true }),
    ),
    h("button", { type: "submit" }, "Log in"),
    status,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const { username, password } = formData(form);
    status.className = "status";
    status.textContent = "Logging in…";
    try {
      const { user } = await api<{ user: User }>("POST", "/api/v1/auth/login", {
        username,
        password,
        client: "browser",
      });
      onLoggedIn(user);
    } catch (error) {
      status.className = "status error";
      status.textContent = describe(error);
    }
  });
  return h(
    "main",
    { id: "main", class: "center" },
    next ? h("p", { class: "hint" }, "Please log in first.") : null,
    form,
  );
}
