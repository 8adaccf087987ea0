// The tutorial (follower-node-storage-policy) §1–§9 walked in a real browser against the real stack:
// a second agent enrolled with the command the console shows, its default local ingress target, a
// remote policy, a test policy group, a test user bound to it, then the §8 acceptance checklist as
// that user and §9 size routing. Screenshots of each main page go to test-artifacts/screenshots/.
import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";
import {
  ADMIN,
  type Agent,
  BROWSER_TEST_TIMEOUT,
  enrollAndStartAgent,
  expectPdfFrame,
  expectStatus,
  launchBrowser,
  login,
  screenshot,
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

const SMALL = "hello from the browser\n";
const LARGE = bytes(5.5 * 1024 * 1024, 7);
const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==",
  "base64",
);
const PDF = makePdf("Flotilla PDF preview");

/** A small valid PDF (one page, one line of text) with a correct xref table. */
function makePdf(text: string): string {
  const stream = `BT /F1 24 Tf 20 60 Td (${text}) Tj ET`;
  const objects = [
    "<< /Type /Catalog /Pages 2 0 R >>",
    "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 320 144] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
    `<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`,
    "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
  ];
  let out = "%PDF-1.4\n";
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(out.length);
    out += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = out.length;
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  out += offsets.map((o) => `${String(o).padStart(10, "0")} 00000 n \n`).join("");
  return `${out}trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
}

/** Tomorrow at noon, as a datetime-local input value. */
const EXPIRES_LOCAL = (() => {
  const d = new Date(Date.now() + 24 * 3600_000);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T12:00`;
})();

const fileRow = (name: string) => page.locator(`table.files tr[data-item="${name}"]`);

/** Follows a link of the main navigation and waits for that page's heading. */
async function nav(name: string): Promise<void> {
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name, exact: true }).click();
  await page.getByRole("heading", { name, exact: true, level: 1 }).waitFor();
}

vi.setConfig({ testTimeout: 120_000 });

beforeAll(async () => {
  env = await startTestStack();
  browser = await launchBrowser();
  page = browser.page;
  base = env.stack.primaryUrl;
  agentDir = await mkdtemp(join(tmpdir(), "flotilla-follower-b-"));
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await agent?.stop();
  await env?.close();
  if (agentDir) await rm(agentDir, { recursive: true, force: true });
});

describe("tutorial in the browser", { timeout: BROWSER_TEST_TIMEOUT }, () => {
  test("§1 an admin connects a follower with the command the console shows and tests the connection", async () => {
    await login(page, base, ADMIN.username, ADMIN.password);
    await nav("Follower Nodes");
    await page.getByRole("heading", { name: "Follower Nodes" }).waitFor();
    await page.getByLabel("Name").fill("Follower B");
    await page.getByRole("button", { name: "Create node" }).click();
    await page.getByRole("heading", { name: /Follower B/ }).waitFor();
    await page.getByRole("button", { name: "Create enrollment token" }).click();
    const command = (await page.locator("#enroll-command-checkout").textContent()) ?? "";
    expect(command).toMatch(
      /^npm run agent -- enroll --primary http:\/\/127\.0\.0\.1:\d+ --token \S+ --data-dir data\/agent-follower-b\nnpm run agent -- start --data-dir data\/agent-follower-b --listen 127\.0\.0\.1:7070$/,
    );
    expect(await page.locator("#enroll-command").textContent()).toMatch(
      /^flotilla-agent enroll .*\nflotilla-agent start --data-dir data\/agent-follower-b --listen 127\.0\.0\.1:7070$/,
    );
    expect(await page.locator("#enroll-note").textContent()).toContain(
      "A second agent on the same machine needs its own --data-dir, --listen port and --base-url",
    );

    agent = await enrollAndStartAgent(command, join(agentDir, "data"), join(agentDir, "managed-ingress"));
    await page.reload();
    const enrollment = page.getByRole("region", { name: "Enrollment" });
    await enrollment.getByText(/Status: completed/).waitFor();

    const nodeForm = page.getByRole("region", { name: "Node", exact: true });
    await nodeForm.getByLabel("base_url").fill(agent.url);
    await page.getByRole("button", { name: "Save node" }).click();
    await expectStatus(page, /Node saved/);
    // §1 asks /health/ready to succeed before §2 creates the default ingress target.
    expect((await fetch(`${agent.url}/health/ready`)).status).toBe(200);
    await page.getByRole("button", { name: "Test Connection" }).click();
    await expectStatus(
      page,
      /Test Connection succeeded over base_url: protocol v2.*Follower: ready; no default ingress target yet: create one \(§2\)\./,
    );
    expect(await page.getByTestId("test-readiness").textContent()).toBe(
      "Follower: ready; no default ingress target yet: create one (§2)",
    );
    expect(await page.getByRole("region", { name: "Maintenance" }).textContent()).toMatch(
      /\/health\/ready: ready; no default ingress target yet: create one \(§2\) \(at /,
    );
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
    await page.getByRole("button", { name: "Re-apply default-local" }).click();
    await expectStatus(page, /Re-applied "default-local": applied/);
    await page.getByRole("button", { name: "Test Connection" }).click();
    await expectStatus(page, /Test Connection succeeded/);
    const maintenance = page.getByRole("region", { name: "Maintenance" });
    await expect
      .poll(() => maintenance.textContent())
      .toMatch(/Default ingress target applied: default-local: applied/);
    await expect.poll(() => maintenance.textContent()).toMatch(/Free space on default-local: \d/);
    expect(await maintenance.textContent()).toMatch(/\/health\/ready: ready \(at /);
    expect(await page.getByTestId("test-readiness").textContent()).toBe("Follower: ready");
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
    await page.getByRole("link", { name: "Team Remote" }).click();
    await page.getByRole("heading", { name: "Team Details: Team Remote" }).waitFor();
    await page.getByLabel("User", { exact: true }).selectOption({ label: USER.username });
    await page.getByRole("button", { name: "Add member" }).click();
    await expectStatus(page, /Member added/);
    await expect.poll(() => page.locator("ul.members").textContent()).toContain(`${USER.username} (member)`);
    await screenshot(page, "05-team-details");
    await page.getByRole("button", { name: "Log out" }).click();
    await page.getByRole("button", { name: "Log in" }).waitFor();
  });

  test("§8 the test user uploads, downloads, shares, trashes and restores, previews; objects land on the follower", async () => {
    await login(page, base, USER.username, USER.password);
    await page.getByRole("heading", { name: "Files", level: 1 }).waitFor();
    await page
      .locator("#file-picker")
      .setInputFiles([{ name: "small.txt", mimeType: "text/plain", buffer: Buffer.from(SMALL) }]);
    await fileRow("small.txt").waitFor();
    await page
      .locator("#file-picker")
      .setInputFiles([
        { name: "large.bin", mimeType: "application/octet-stream", buffer: Buffer.from(LARGE) },
      ]);
    await fileRow("large.bin").waitFor();
    expect(await page.locator('[data-upload="large.bin"]').textContent()).toMatch(
      /done · 5\.5 MiB of 5\.5 MiB/,
    );
    expect(await page.getByLabel("Overall upload progress").getAttribute("max")).toBe(
      String(SMALL.length + LARGE.length),
    );

    const download = page.waitForEvent("download");
    await page.getByRole("link", { name: "Download large.bin" }).click();
    const saved = await readFile((await (await download).path())!);
    expect(sha256(saved)).toBe(sha256(LARGE));

    await page.getByRole("button", { name: "Share small.txt" }).click();
    await page.getByLabel("Expires at").fill(EXPIRES_LOCAL);
    await page.getByLabel("Password").fill("share-password-1");
    await page.getByRole("button", { name: "Create share link" }).click();
    const link = await page.getByLabel("Share link", { exact: true }).inputValue();
    expect(link).toMatch(new RegExp(`^${base}/s/\\S+$`));
    await page.getByRole("button", { name: "Copy link" }).click();
    await expectStatus(page, /Share link copied|copy it by hand/);
    const visitor = await browser.context.newPage();
    await visitor.goto(link);
    await visitor.getByLabel("Password").fill("share-password-1");
    await visitor.getByRole("button", { name: "Unlock" }).click();
    await visitor.getByRole("heading", { name: "small.txt" }).waitFor();
    expect(await visitor.locator("main").textContent()).toContain("Link expires");
    await screenshot(visitor, "07-public-share");
    const shared = visitor.waitForEvent("download");
    await visitor.getByRole("link", { name: "Download small.txt" }).click();
    expect(await readFile((await (await shared).path())!, "utf8")).toBe(SMALL);
    await visitor.close();

    await page.getByRole("button", { name: "Delete small.txt" }).click();
    await expectStatus(page, /"small.txt" moved to the trash/);
    await expect.poll(() => fileRow("small.txt").count()).toBe(0);
    await page.getByRole("link", { name: "Trash", exact: true }).first().click();
    await page.getByRole("heading", { name: "Trash", level: 1 }).waitFor();
    await screenshot(page, "08-trash");
    await page.getByRole("button", { name: "Restore small.txt" }).click();
    await expectStatus(page, /"small.txt" restored/);
    await nav("Files");
    await fileRow("small.txt").waitFor();

    await page.getByLabel("Folder name").fill("Reports");
    await page.getByRole("button", { name: "Create folder" }).click();
    await expectStatus(page, /Folder "Reports" created/);
    await page.getByRole("link", { name: "📁 Reports" }).click();
    await page
      .getByRole("navigation", { name: "Folder path" })
      .getByRole("link", { name: "Reports" })
      .waitFor();
    const dropped = await page.evaluateHandle(() => {
      const transfer = new DataTransfer();
      transfer.items.add(new File(["dropped into Reports\n"], "dropped.txt", { type: "text/plain" }));
      return transfer;
    });
    await page.locator(".dropzone").dispatchEvent("drop", { dataTransfer: dropped });
    await fileRow("dropped.txt").waitFor();
    await page
      .getByRole("navigation", { name: "Folder path" })
      .getByRole("link", { name: "My files" })
      .click();
    await page.getByRole("link", { name: "📁 Reports" }).waitFor();
    expect(await fileRow("dropped.txt").count()).toBe(0);

    await page.locator("#file-picker").setInputFiles([
      { name: "pixel.png", mimeType: "image/png", buffer: PNG },
      { name: "doc.pdf", mimeType: "application/pdf", buffer: Buffer.from(PDF) },
    ]);
    await fileRow("doc.pdf").waitFor();
    await fileRow("pixel.png").waitFor();
    await page.getByRole("button", { name: "Preview pixel.png" }).click();
    const img = page.getByRole("img", { name: "Preview of pixel.png" });
    await expect.poll(() => img.evaluate((el) => (el as HTMLImageElement).naturalWidth)).toBe(1);
    const pdf = page.waitForResponse(
      (r) => r.url().endsWith("/preview") && r.request().resourceType() === "fetch",
    );
    const pdfSaved = page.waitForEvent("download");
    await page.getByRole("button", { name: "Preview doc.pdf" }).click();
    const pdfResponse = await pdf;
    expect(pdfResponse.status()).toBe(200);
    expect(pdfResponse.headers()["content-type"]).toMatch(/^application\/pdf/);
    await expectPdfFrame(page.locator('iframe[title="Preview of doc.pdf"]'), Buffer.from(PDF), pdfSaved);
    await page.waitForTimeout(1000);
    await screenshot(page, "06-files");

    const stored = await filesUnder(join(agentDir, "managed-ingress", "default"));
    const sizes = await Promise.all(stored.map(async (f) => (await stat(f)).size));
    expect(sizes).toContain(LARGE.length);
    expect(sizes).toContain(SMALL.length);

    await page.getByRole("button", { name: "Log out" }).click();
    await login(page, base, ADMIN.username, ADMIN.password);
    await nav("Follower Nodes");
    await page.getByRole("link", { name: "Follower B" }).click();
    await page.getByRole("button", { name: "Test Connection" }).click();
    await expectStatus(page, /Test Connection succeeded over base_url: protocol v2/);
    expect(await page.getByTestId("protocol-version").textContent()).toMatch(/^v2/);
    // §11 at a glance after a reload: readiness stored with the probe, the group still enabled.
    await page.reload();
    const maintenance = page.getByRole("region", { name: "Maintenance" });
    await expect.poll(() => maintenance.textContent()).toMatch(/\/health\/ready: ready/);
    expect(await maintenance.textContent()).toMatch(/Policy groups enabled: Remote Test Group \(enabled\)/);
    expect(await maintenance.textContent()).toMatch(/Recent errors: none/);
    // Routine probes are one line with their count and last time, so failures are not pushed off.
    await page.getByRole("button", { name: "Test Connection" }).click();
    await expectStatus(page, /Test Connection succeeded/);
    await page.reload();
    const events = page.getByTestId("node-events");
    await expect
      .poll(() => events.textContent())
      .toMatch(/info probe: protocol v2.*\(\d+ times in a row since /);
    await page.getByLabel("Show").selectOption({ label: "Problems only (warnings and errors)" });
    await expectStatus(page, /events shown/);
    expect(await events.locator("li.event.info").count()).toBe(0);
  });

  test("§9 routes small files to the primary store and large files to the follower", async () => {
    await nav("Policy Groups");
    await page.getByLabel("Name").fill("Size Routing Group");
    await page.getByRole("button", { name: "Create policy group" }).click();
    await expectStatus(page, /created/);
    const group = page.locator('article[data-group="Size Routing Group"]');
    const addRule = async (policy: string, priority: number, min: string, max: string) => {
      await group.locator("summary", { hasText: "Add rule" }).click();
      await group.getByLabel("Storage policy").selectOption({ label: policy });
      await group.getByLabel("Priority").fill(String(priority));
      await group.getByLabel("Minimum file size (MiB)").fill(min);
      await group.getByLabel("Maximum file size (MiB)").fill(max);
      await group.getByRole("button", { name: "Add rule" }).click();
      await expectStatus(page, /Rule added to "Size Routing Group"/);
      await expect.poll(() => group.locator("tbody tr").count()).toBe(priority);
    };
    // Size ranges are [min, max): the form says so, and a rule set that leaves sizes unmatched is saved
    // with a warning naming them.
    expect(await group.textContent()).toContain("Warning: No usable rule matches sizes 0 bytes and above");
    await addRule("Primary store (primary)", 1, "0", "1");
    expect(await group.getByTestId("group-warning").textContent()).toContain("1048576 bytes and above");
    expect(await group.textContent()).toContain("Exclusive: a file of exactly this size does not match");
    await addRule("Remote Follower B (remote)", 2, "1", "0");
    await expect
      .poll(() => group.textContent())
      .toMatch(/0 B to under 1 MiB\s*Primary store.*1 MiB and above\s*Remote Follower B/);
    expect(await group.getByTestId("group-warning").count()).toBe(0);
    const policies = await page.evaluate(
      async () =>
        (await (await fetch("/api/v1/admin/policies")).json()) as {
          policies: { id: string; name: string }[];
        },
    );
    const policyId = (name: string) => policies.policies.find((p) => p.name === name)!.id;
    await nav("Users");
    await page.getByRole("link", { name: USER.username }).click();
    await page.getByRole("heading", { name: "User Details: tester" }).waitFor();
    await page.getByLabel("Policy group").selectOption({ label: "Size Routing Group" });
    await page.getByRole("button", { name: "Save user" }).click();
    await expectStatus(page, /policy group Size Routing Group/);
    // §9 in the console: which policy an upload of a size by this user would use, and what was skipped.
    const preview = page.getByRole("form", { name: "Which policy would an upload use?" });
    const result = preview.getByTestId("resolution-result");
    await preview.getByLabel("File size (bytes)").fill(String(1024 * 1024 - 1));
    await preview.getByRole("button", { name: "Preview" }).click();
    await expect
      .poll(() => result.textContent())
      .toMatch(
        /^Storage policy "Primary store" \(primary\) through group "Size Routing Group", rule 1 \(0 B to under 1 MiB\)\. No rule skipped\.$/,
      );
    await preview.getByLabel("File size (bytes)").fill(String(1024 * 1024));
    await preview.getByRole("button", { name: "Preview" }).click();
    await expect
      .poll(() => result.textContent())
      .toBe(
        'Storage policy "Remote Follower B" (remote on follower node Follower B) through group "Size Routing Group", rule 2 (1 MiB and above). Skipped: rule 1 (size outside its range).',
      );
    await page.getByRole("button", { name: "Log out" }).click();

    await login(page, base, USER.username, USER.password);
    await page.locator("#file-picker").setInputFiles([
      {
        name: "routed-small.bin",
        mimeType: "application/octet-stream",
        buffer: Buffer.from(bytes(100 * 1024, 3)),
      },
      {
        name: "routed-large.bin",
        mimeType: "application/octet-stream",
        buffer: Buffer.from(bytes(2 * 1024 * 1024, 4)),
      },
    ]);
    await fileRow("routed-large.bin").waitFor();
    await fileRow("routed-small.bin").waitFor();
    const listing = await page.evaluate(
      async () =>
        (await (await fetch("/api/v1/spaces/me/items")).json()) as {
          items: { name: string; policy_id?: string }[];
        },
    );
    const policyOf = (name: string) => listing.items.find((i) => i.name === name)?.policy_id;
    expect(policyOf("routed-small.bin")).toBe(policyId("Primary store"));
    expect(policyOf("routed-large.bin")).toBe(policyId("Remote Follower B"));
    expect(policyOf("large.bin")).toBe(policyId("Remote Follower B"));

    // Team space uploads match the team's policy group (Remote Test Group), not the user's.
    await page.getByLabel("Space").selectOption({ label: "Team: Team Remote" });
    await page.waitForURL(/\/files\/[0-9a-f]+$/);
    await page
      .getByRole("navigation", { name: "Folder path" })
      .getByRole("link", { name: "Team Remote" })
      .waitFor();
    const teamId = new URL(page.url()).pathname.split("/")[2]!;
    await page.locator("#file-picker").setInputFiles([
      {
        name: "team-small.bin",
        mimeType: "application/octet-stream",
        buffer: Buffer.from(bytes(10 * 1024, 5)),
      },
    ]);
    await fileRow("team-small.bin").waitFor();
    const teamListing = await page.evaluate(
      async (id) =>
        (await (await fetch(`/api/v1/spaces/${id}/items`)).json()) as {
          items: { name: string; policy_id: string }[];
        },
      teamId,
    );
    expect(teamListing.items.find((i) => i.name === "team-small.bin")?.policy_id).toBe(
      policyId("Remote Follower B"),
    );

    // The admin's view of a file names its storage policy and node, and whether the object is there.
    await page.getByRole("button", { name: "Log out" }).click();
    await login(page, base, ADMIN.username, ADMIN.password);
    await nav("Files");
    await page
      .locator("#file-picker")
      .setInputFiles([
        { name: "admin-small.txt", mimeType: "text/plain", buffer: Buffer.from("admin file\n") },
      ]);
    await fileRow("admin-small.txt").waitFor({ timeout: 30_000 });
    await page.getByRole("button", { name: "Storage admin-small.txt" }).click();
    const where = page.getByTestId("file-storage");
    await expect
      .poll(() => where.textContent())
      .toMatch(
        /^Storage policyPrimary store \(primary\)Follower nodenone \(not a remote policy\)Objectpresent, 11 B/,
      );
  });
});
