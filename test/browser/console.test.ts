// The console's own promises, checked in chromium: keyboard-only login that returns to the page asked
// for (and never to another site), every control with an accessible name, no horizontal scrolling at
// phone width, no CSP violation anywhere (no inline script or style), admin pages hidden from users,
// and logout that really ends the session. Phone-width screenshots go to test-artifacts/screenshots/.
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";
import {
  ADMIN,
  apiAs,
  BROWSER_TEST_TIMEOUT,
  launchBrowser,
  login,
  screenshot,
  startTestStack,
  type TestBrowser,
  type TestStack,
} from "./helpers.ts";

vi.setConfig({ testTimeout: 120_000 });

let env: TestStack;
let browser: TestBrowser;
let page: Page;
let base: string;
let nodeId: string;

const PAGES = [
  ["files", "/files"],
  ["trash", "/trash"],
  ["webdav", "/webdav"],
  ["nodes", "/admin/nodes"],
  ["node-details", "/admin/nodes/:node"],
  ["policies", "/admin/policies"],
  ["policy-groups", "/admin/policy-groups"],
  ["users", "/admin/users"],
  ["teams", "/admin/teams"],
] as const;

/** Controls without an accessible name (a simplified accname: label, aria-label(ledby), text, title). */
function unnamedControls(p: Page): Promise<string[]> {
  return p.evaluate(() => {
    const named = (el: Element): boolean => {
      if (el.getAttribute("aria-label")?.trim()) return true;
      const by = el.getAttribute("aria-labelledby");
      if (by?.split(/\s+/).some((id) => document.getElementById(id)?.textContent?.trim())) return true;
      if ((el as HTMLInputElement).labels?.length) return true;
      if (el.getAttribute("title")?.trim()) return true;
      return (
        (el.tagName === "BUTTON" || el.tagName === "A" || el.tagName === "SUMMARY") &&
        Boolean(el.textContent?.trim())
      );
    };
    return [
      ...document.querySelectorAll(
        "button, input:not([type=hidden]), select, textarea, a[href], summary, iframe",
      ),
    ]
      .filter((el) => !named(el))
      .map((el) => el.outerHTML.slice(0, 120));
  });
}

beforeAll(async () => {
  env = await startTestStack();
  base = env.stack.primaryUrl;
  const admin = await apiAs(base, ADMIN.username, ADMIN.password);
  await admin("POST", "/api/v1/admin/users", { username: "plain", password: "plain-password-1" });
  const { nodes } = await admin<{ nodes: { id: string }[] }>("GET", "/api/v1/admin/nodes");
  nodeId = nodes[0]!.id;
  browser = await launchBrowser({ width: 390, height: 844 });
  page = browser.page;
  await browser.context.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as { cspViolations: string[] }).cspViolations = seen;
    document.addEventListener("securitypolicyviolation", (e) =>
      seen.push(`${e.violatedDirective} ${e.blockedURI}`),
    );
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await env?.close();
});

describe("web console", { timeout: BROWSER_TEST_TIMEOUT }, () => {
  test("index.html carries no inline script and is served with a strict CSP", async () => {
    const response = await fetch(`${base}/admin/nodes`);
    expect(response.status).toBe(200);
    const csp = response.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    const html = await response.text();
    expect(html).toContain('<script type="module" src="/app.js"></script>');
    expect(html).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
    expect(html).not.toMatch(/\sstyle=|\son[a-z]+=/i);
    expect((await fetch(`${base}/api/v1/no-such-endpoint`)).headers.get("content-type")).toMatch(/json/);
  });

  test("keyboard-only login returns to the page asked for, never to another site", async () => {
    await page.goto(`${base}/admin/nodes`);
    await page.waitForURL(/\/login\?next=%2Fadmin%2Fnodes$/);
    await page.getByLabel("Username").focus();
    await page.keyboard.type(ADMIN.username);
    await page.keyboard.press("Tab");
    await page.keyboard.type(ADMIN.password);
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "Follower Nodes", level: 1 }).waitFor();
    expect(new URL(page.url()).pathname).toBe("/admin/nodes");
    await page.getByRole("link", { name: "Policy Groups" }).focus();
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "Policy Groups", level: 1 }).waitFor();
    await page.getByRole("button", { name: "Log out" }).click();
    await page.goto(`${base}/login?next=//evil.example/steal`);
    await page.getByLabel("Username").fill(ADMIN.username);
    await page.getByLabel("Password").fill(ADMIN.password);
    await page.keyboard.press("Enter");
    await page.waitForURL(`${base}/files`);
  });

  test("every main page names all its controls, fits a phone screen and violates no CSP", async () => {
    for (const [name, path] of PAGES) {
      await page.goto(`${base}${path.replace(":node", nodeId)}`);
      await page.locator("main h1").first().waitFor();
      await page.waitForLoadState("networkidle");
      expect(await unnamedControls(page), `${name}: controls without a name`).toEqual([]);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow, `${name}: horizontal overflow at 390px`).toBeLessThanOrEqual(0);
      await screenshot(page, `phone-${name}`);
    }
    expect(
      await page.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations),
    ).toEqual([]);
  });

  test("disabling a node on its details page shows it and refuses Test Connection until re-enabled", async () => {
    await page.goto(`${base}/admin/nodes/${nodeId}`);
    const nodeForm = page.getByRole("region", { name: "Node", exact: true });
    await nodeForm.getByLabel("Enabled").uncheck();
    await nodeForm.getByRole("button", { name: "Save node" }).click();
    await page.locator("#status", { hasText: /Node saved/ }).waitFor();
    await page.getByRole("heading", { name: /Disabled/ }).waitFor();
    await page.getByRole("button", { name: "Test Connection" }).click();
    await page.locator("#status", { hasText: /node_disabled/ }).waitFor();
    await nodeForm.getByLabel("Enabled").check();
    await nodeForm.getByRole("button", { name: "Save node" }).click();
    await page.locator("#status", { hasText: /Node saved \(follower binding pushed\)/ }).waitFor();
    await page.getByRole("button", { name: "Test Connection" }).click();
    await page.locator("#status", { hasText: /Test Connection succeeded/ }).waitFor();
    await page.getByRole("heading", { name: /Online/ }).waitFor();
    // The origins the follower accepts browser requests from: the primary's own.
    expect(await page.getByTestId("allowed-origins").textContent()).toBe(
      `allowed origins: ${new URL(base).origin}`,
    );
  });

  test("an outbound node shows its channel on its page and in the list: down until its agent opens it", async () => {
    await page.goto(`${base}/admin/nodes/${nodeId}`);
    const nodeForm = page.getByRole("region", { name: "Node", exact: true });
    await nodeForm.getByLabel("Connectivity").selectOption("outbound");
    await nodeForm.getByRole("button", { name: "Save node" }).click();
    await page.locator("#status", { hasText: /Node saved/ }).waitFor();
    await page.getByRole("heading", { name: /Channel down/ }).waitFor();
    // This agent asks how it is reached only every few minutes: the channel is not open yet.
    const channel = page.getByRole("region", { name: "Channel", exact: true });
    expect(await channel.getByTestId("channel-state").textContent()).toBe("not connected");
    expect(await channel.getByTestId("channel-agent-version").textContent()).toBe("not named");
    await screenshot(page, "node-outbound");
    await page.goto(`${base}/admin/nodes`);
    expect(await page.getByTestId("node-channel").textContent()).toMatch(/^outbound: not connected, /);
    await page.goto(`${base}/admin/nodes/${nodeId}`);
    await nodeForm.getByLabel("Connectivity").selectOption("direct");
    await nodeForm.getByRole("button", { name: "Save node" }).click();
    await page.locator("#status", { hasText: /Node saved/ }).waitFor();
    await page.getByRole("heading", { name: /Online/ }).waitFor();
    expect(await page.getByRole("region", { name: "Channel", exact: true }).count()).toBe(0);
  });

  test("an ingress target is created, edited (new revision applied) and deleted from the node page", async () => {
    await page.goto(`${base}/admin/nodes/${nodeId}`);
    const targets = page.getByRole("region", { name: "Primary-managed ingress targets" });
    await targets.getByLabel("Name").fill("extra-local");
    await targets.getByLabel("Base path").fill("extra");
    await targets.getByRole("button", { name: "Create ingress target" }).click();
    await page.locator("#status", { hasText: /Ingress target "extra-local" created: applied/ }).waitFor();
    const row = page.locator('tr[data-target="extra-local"]');
    await row.locator("summary", { hasText: "Edit" }).click();
    await row.getByLabel("Base path").fill("extra-2");
    await row.getByRole("button", { name: "Save ingress target" }).click();
    await page.locator("#status", { hasText: /"extra-local" saved and pushed/ }).waitFor();
    await expect
      .poll(() => page.locator('tr[data-target="extra-local"]').textContent())
      .toMatch(/extra-2.*applied rev 2\/2/);
    page.once("dialog", (dialog) => void dialog.accept());
    await page.getByRole("button", { name: "Delete extra-local" }).click();
    await page.locator("#status", { hasText: /Ingress target "extra-local" deleted/ }).waitFor();
    await expect.poll(() => page.locator('tr[data-target="extra-local"]').count()).toBe(0);
  });

  test("a plain user sees no admin pages, and logout ends the session", async () => {
    await page.getByRole("button", { name: "Log out" }).click();
    await login(page, base, "plain", "plain-password-1");
    expect(await page.getByRole("navigation", { name: "Main" }).getByRole("link").allTextContents()).toEqual([
      "Files",
      "Trash",
      "WebDAV",
    ]);
    await page.goto(`${base}/admin/nodes`);
    await page.getByRole("heading", { name: "Admins only" }).waitFor();
    await page.getByRole("button", { name: "Log out" }).click();
    await page.getByRole("button", { name: "Log in" }).waitFor();
    const me = await page.evaluate(async () => (await fetch("/api/v1/auth/me")).status);
    expect(me).toBe(401);
  });
});
