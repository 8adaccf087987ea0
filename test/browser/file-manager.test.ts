// The file manager beyond open and download, in a real browser against the real stack: rename (a
// taken name refused in words), move into another folder through the folder browser (a folder never
// into itself), sorting by name, size and date from the column headers, and several items selected at
// once to move and to delete. Everything is reached by keyboard as well as by clicks.
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { UploadOut } from "../../worker/api/uploads.ts";
import { apiToken } from "../support/stack.ts";
import { relayWhole, uploadClient } from "../support/upload-client.ts";
import {
  ADMIN,
  BROWSER_TEST_TIMEOUT,
  expectStatus,
  launchBrowser,
  login,
  screenshot,
  startTestStack,
  type TestBrowser,
  type TestStack,
} from "./helpers.ts";

let env: TestStack;
let browser: TestBrowser;
let page: Page;
let base: string;

/** Names in the listing, top to bottom. */
const names = () =>
  page.locator("table.files tbody tr").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-item")));

beforeAll(async () => {
  env = await startTestStack();
  base = env.stack.primaryUrl;
  const api = (path: string, init?: RequestInit) => fetch(`${base}${path}`, init);
  const c = uploadClient(api, await apiToken(base, ADMIN.username, ADMIN.password));
  // Sizes and upload order differ from name order, so each sort shows a different list.
  for (const [name, size] of [
    ["beta.txt", 3000],
    ["alpha.txt", 10],
    ["gamma.txt", 700],
  ] as const) {
    const upload = await c.ok<UploadOut>(await c.init({ name, size }), 201);
    await relayWhole(c, upload, new Uint8Array(size).fill(65));
  }
  for (const name of ["Archive", "Reports"]) {
    await c.ok(await c.json("POST", "/api/v1/spaces/me/folders", { name, parent_id: null }), 201);
  }
  browser = await launchBrowser();
  page = browser.page;
  await login(page, base, ADMIN.username, ADMIN.password);
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await env?.close();
});

describe("the file manager", { timeout: BROWSER_TEST_TIMEOUT }, () => {
  test("sorts by name, size and modified time from the column headers, either way", async () => {
    await page.goto(`${base}/files/me`);
    await expect.poll(names).toEqual(["Archive", "Reports", "alpha.txt", "beta.txt", "gamma.txt"]);
    await page.getByRole("button", { name: "Sort by size" }).click();
    await expect.poll(names).toEqual(["Archive", "Reports", "alpha.txt", "gamma.txt", "beta.txt"]);
    expect(await page.locator("th[aria-sort=ascending]").textContent()).toContain("Size");
    // By keyboard: the same header again reverses the order.
    await page.getByRole("button", { name: "Sort by size, descending" }).focus();
    await page.keyboard.press("Enter");
    await expect.poll(names).toEqual(["Archive", "Reports", "beta.txt", "gamma.txt", "alpha.txt"]);
    expect(page.url()).toContain("sort=size&order=desc");
    await page.getByRole("button", { name: "Sort by modified" }).click();
    await expect.poll(names).toEqual(["Archive", "Reports", "beta.txt", "alpha.txt", "gamma.txt"]);
    await screenshot(page, "file-manager-sorted");
  });

  test("renames a file, and refuses a name that is taken in words", async () => {
    await page.goto(`${base}/files/me`);
    await page.getByRole("button", { name: "Rename gamma.txt" }).click();
    const form = page.getByRole("form", { name: "Rename gamma.txt" });
    await form.getByLabel("New name").fill("alpha.txt");
    await form.getByRole("button", { name: "Rename" }).click();
    await expect.poll(() => form.getByRole("status").textContent()).toMatch(/already|taken|exists/i);
    expect(await form.getByRole("status").textContent()).toContain("name_conflict");
    await form.getByLabel("New name").fill("delta.txt");
    await form.getByLabel("New name").press("Enter");
    await expectStatus(page, /"gamma.txt" renamed to "delta.txt"/);
    await expect.poll(names).toContain("delta.txt");
  });

  test("moves a file into a folder with the folder browser, and never offers a folder as its own destination", async () => {
    await page.goto(`${base}/files/me`);
    await page.getByRole("button", { name: "Move Archive" }).click();
    const browserGroup = page.getByRole("group", { name: "Move destination" });
    await expect.poll(() => browserGroup.textContent()).toContain("Reports");
    expect(await browserGroup.getByRole("button", { name: "Open folder Archive" }).count()).toBe(0);
    await page.getByRole("button", { name: "Move delta.txt" }).click();
    await page.getByRole("button", { name: "Open folder Archive" }).click();
    await expect
      .poll(() => page.getByTestId("move-location").textContent())
      .toBe("Destination: My files / Archive");
    await page.getByRole("button", { name: "Move here" }).click();
    await expectStatus(page, /1 of 1 item moved/);
    await expect.poll(names).not.toContain("delta.txt");
    await page.getByRole("link", { name: "Archive" }).click();
    await expect.poll(names).toEqual(["delta.txt"]);
  });

  test("selects several items to move them together, then deletes a selection to the trash", async () => {
    await page.goto(`${base}/files/me`);
    await page.getByLabel("Select alpha.txt").check();
    await page.getByLabel("Select beta.txt").press("Space");
    await expect.poll(() => page.getByTestId("selected-count").textContent()).toBe("2 selected");
    await page
      .getByRole("toolbar", { name: "Selected items" })
      .getByRole("button", { name: "Move selected" })
      .click();
    await page.getByRole("button", { name: "Open folder Reports" }).click();
    await page.getByRole("button", { name: "Move here" }).click();
    await expectStatus(page, /2 of 2 items moved/);
    await expect.poll(names).toEqual(["Archive", "Reports"]);
    await page.getByRole("link", { name: "Reports" }).click();
    await expect.poll(names).toEqual(["alpha.txt", "beta.txt"]);
    page.once("dialog", (dialog) => void dialog.accept());
    await page.getByLabel("Select all items shown").check();
    await page.getByRole("button", { name: "Delete selected" }).click();
    await expectStatus(page, /2 of 2 items moved to the trash/);
    await expect.poll(() => page.getByText("This folder is empty.").count()).toBe(1);
    expect(await page.getByRole("toolbar", { name: "Selected items" }).isHidden()).toBe(true);
    await screenshot(page, "file-manager-after-bulk-delete");
  });
});
