// The console's WebDAV page in chromium: it shows this primary's WebDAV URL and how to connect, an app
// password created there is shown once and works for a WebDAV client (the `webdav` npm package), and
// once revoked there the same client is refused.
import type { Page } from "playwright-core";
import { afterAll, beforeAll, expect, test, vi } from "vitest";
import { createClient } from "webdav";
import {
  ADMIN,
  apiAs,
  createAppPassword,
  expectStatus,
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
const USER = { username: "davwalker", password: "dav-walker-password-1" };

beforeAll(async () => {
  env = await startTestStack();
  base = env.stack.primaryUrl;
  const admin = await apiAs(base, ADMIN.username, ADMIN.password);
  await admin("POST", "/api/v1/admin/users", USER);
  browser = await launchBrowser();
  page = browser.page;
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await env?.close();
});

test("shows the WebDAV URL, creates an app password that works, and revokes it", async () => {
  await login(page, base, USER.username, USER.password);
  await page.getByRole("link", { name: "WebDAV" }).click();
  await page.getByRole("heading", { name: "WebDAV", level: 1 }).waitFor();
  expect(await page.locator("#webdav-url").textContent()).toBe(`${base}/dav/`);
  for (const client of [
    "rclone",
    "macOS Finder",
    "Windows File Explorer",
    "Linux (GNOME Files, KDE Dolphin, davfs2)",
  ]) {
    await page.getByText(client, { exact: true }).waitFor();
  }
  const password = await createAppPassword(page, "walk laptop");
  await screenshot(page, "webdav-app-password");
  const dav = createClient(`${base}/dav/`, { username: USER.username, password });
  await dav.putFileContents("/from-webdav.txt", "hello from a WebDAV client");
  expect(await dav.getFileContents("/from-webdav.txt", { format: "text" })).toBe(
    "hello from a WebDAV client",
  );

  await page.reload();
  await page.getByRole("row", { name: /walk laptop/ }).waitFor();
  expect(await page.locator("#new-app-password-value").count()).toBe(0);
  await page.getByRole("button", { name: "Revoke walk laptop" }).click();
  await expectStatus(page, /App password "walk laptop" revoked/);
  await page.getByText("No app passwords yet.").waitFor();
  await expect(dav.getDirectoryContents("/")).rejects.toThrow(/401/);
});
