// The console walk with a client from outside npm: in chromium, the WebDAV page shows this primary's
// URL and creates an app password; rclone (Debian package) connects with it and writes a file the
// API shows; after the app password is revoked on the same page, rclone is refused.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
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
} from "../browser/helpers.ts";
import { rclone, rcloneRemote, requireTool } from "./tools.ts";

const USER = { username: "rcloneuser", password: "rclone-user-password-1" };

let env: TestStack;
let browser: TestBrowser;
let page: Page;
let base: string;
let work: string;

beforeAll(async () => {
  requireTool("rclone");
  env = await startTestStack();
  base = env.stack.primaryUrl;
  const admin = await apiAs(base, ADMIN.username, ADMIN.password);
  await admin("POST", "/api/v1/admin/users", USER);
  browser = await launchBrowser();
  page = browser.page;
  work = await mkdtemp(join(tmpdir(), "flotilla-console-rclone-"));
});

afterAll(async () => {
  await browser?.close();
  await env?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

it("creates an app password in the console that rclone uses, and after its revocation rclone is refused", async () => {
  await login(page, base, USER.username, USER.password);
  await page.getByRole("link", { name: "WebDAV" }).click();
  const url = (await page.locator("#webdav-url").textContent()) ?? "";
  expect(url).toBe(`${base}/dav/`);
  const password = await createAppPassword(page, "rclone on this box");
  const remote = await rcloneRemote(url, USER.username, password);
  const file = join(work, "hello.txt");
  await writeFile(file, "written by rclone");
  const copy = await rclone(remote, ["copyto", file, "flot:hello.txt"]);
  expect(copy.code, copy.stderr).toBe(0);
  const user = await apiAs(base, USER.username, USER.password);
  const { items } = await user<{ items: { name: string }[] }>("GET", "/api/v1/spaces/me/items");
  expect(items.map((i) => i.name)).toContain("hello.txt");

  await page.getByRole("button", { name: "Revoke rclone on this box" }).click();
  await expectStatus(page, /App password "rclone on this box" revoked/);
  await screenshot(page, "webdav-revoked");
  const refused = await rclone(remote, ["lsf", "flot:"]);
  expect(refused.code).not.toBe(0);
  expect(refused.stderr).toMatch(/401|Unauthorized/);
});
