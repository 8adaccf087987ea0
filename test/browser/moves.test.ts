// Admin -> Move Files in a real browser against the real stack (primary in workerd, Follower 1): a dry
// run of moving the primary store's files onto a follower policy shows what would move, Start move
// runs the job, and its progress bar fills as the table keeps itself up to date; the files then read
// back with their SHA-256 from the follower. A screenshot goes to test-artifacts/screenshots/.
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";
import type { UploadOut } from "../../worker/api/uploads.ts";
import { bytes, sha256 } from "../support/bytes.ts";
import { relayWhole, type UploadClient, uploadClient } from "../support/upload-client.ts";
import {
  ADMIN,
  apiAs,
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
let admin: Awaited<ReturnType<typeof apiAs>>;
const ids = { primary: "", remote: "" };
const stored: { id: string; sha256: string }[] = [];
let user: UploadClient;

vi.setConfig({ testTimeout: 90_000 });

beforeAll(async () => {
  env = await startTestStack();
  base = env.stack.primaryUrl;
  admin = await apiAs(base, ADMIN.username, ADMIN.password);
  const { nodes } = await admin<{ nodes: { id: string }[] }>("GET", "/api/v1/admin/nodes");
  const nodeId = nodes[0]!.id;
  await admin("POST", `/api/v1/admin/nodes/${nodeId}/ingress-targets`, {
    name: "default-local",
    driver: "local",
    base_path: "default",
  });
  const { policies } = await admin<{ policies: { id: string; driver: string }[] }>(
    "GET",
    "/api/v1/admin/policies",
  );
  ids.primary = policies.find((p) => p.driver === "primary")!.id;
  ids.remote = (
    await admin<{ id: string }>("POST", "/api/v1/admin/policies", {
      name: "Follower 1 relay",
      driver: "remote",
      node_id: nodeId,
    })
  ).id;
  const group = await admin<{ id: string }>("POST", "/api/v1/admin/policy-groups", {
    name: "Primary store only",
    rules: [{ policy_id: ids.primary, priority: 1, min_size: 0, max_size: 0 }],
  });
  const password = "mover horse battery staple";
  await admin("POST", "/api/v1/admin/users", { username: "mover", password, policy_group_id: group.id });
  const { token } = await (
    await fetch(`${base}/api/v1/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "mover", password, client: "api" }),
    })
  ).json();
  user = uploadClient((p, init) => fetch(`${base}${p}`, init), token as string);
  for (const size of [2000, 300_000]) {
    const data = bytes(size, size % 97);
    const upload = await user.ok<UploadOut>(await user.init({ name: `m-${size}.bin`, size }), 201);
    const { file } = await relayWhole(user, upload, data);
    expect(file.policy_id).toBe(ids.primary);
    stored.push({ id: file.id, sha256: sha256(data) });
  }
  browser = await launchBrowser();
  page = browser.page;
  await login(page, base, ADMIN.username, ADMIN.password);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await env?.close();
});

describe("Move Files in the console", () => {
  test("a dry run shows what would move; Start move runs the job and its progress bar fills", async () => {
    await page.goto(`${base}/admin/moves`);
    await page.getByRole("heading", { name: "Move Files" }).waitFor();
    const form = page.getByRole("form", { name: "New move" });
    await form.getByLabel("Source").selectOption({ label: "Policy: Primary store" });
    await form.getByLabel("Target policy").selectOption(ids.remote);
    await form.getByRole("button", { name: "Dry run" }).click();
    await expectStatus(page, /Dry run: 2 of 2 files can move/);
    await expect(page.locator("#move-plan").textContent()).resolves.toContain("streamed through the primary");

    await form.getByRole("button", { name: "Start move" }).click();
    await expectStatus(page, /started: 2 files/);
    const row = page.locator("#move-jobs tr[data-move]").first();
    await row.and(page.locator("[data-state=completed]")).waitFor({ timeout: 60_000 });
    const bar = row.getByRole("progressbar");
    const [value, max] = await Promise.all([bar.getAttribute("value"), bar.getAttribute("max")]);
    expect(Number(value)).toBe(302_000);
    expect(Number(max)).toBe(302_000);
    await expect(row.textContent()).resolves.toContain("2 of 2 files");
    await screenshot(page, "moves-completed");

    for (const s of stored) {
      const meta = await user.ok<{ policy_id: string; sha256: string }>(
        await user.json("GET", `/api/v1/spaces/me/files/${s.id}`),
      );
      expect(meta).toMatchObject({ policy_id: ids.remote, sha256: s.sha256 });
      const content = await user.json("GET", `/api/v1/spaces/me/files/${s.id}/content`);
      expect(sha256(new Uint8Array(await content.arrayBuffer()))).toBe(s.sha256);
    }
  });
});
