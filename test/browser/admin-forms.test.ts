// Console forms no other browser test clicks, against the real stack and a real S3 wire server
// (s3rver): an s3 ingress target that applies and one that fails with its reason, an s3 storage policy
// saved and tested from the page, moving the default policy group, "Load more" in the file manager,
// and the share link's copy control read back from the clipboard. Screenshots of each form go to
// test-artifacts/screenshots/.
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";
import { pdfFile, pngFile } from "../../scripts/acceptance/fixtures.ts";
import { startS3rver } from "../support/s3rver.ts";
import {
  ADMIN,
  apiAs,
  BROWSER_TEST_TIMEOUT,
  expectPdfFrame,
  expectStatus,
  launchBrowser,
  login,
  screenshot,
  startTestStack,
  type TestBrowser,
  type TestStack,
} from "./helpers.ts";

interface IngressTargetView {
  name: string;
  driver: string;
  state: string;
  reason: string | null;
}

let env: TestStack;
let s3: Awaited<ReturnType<typeof startS3rver>>;
let browser: TestBrowser;
let page: Page;
let base: string;
let admin: Awaited<ReturnType<typeof apiAs>>;
let nodeId: string;

const NOTE = "a note shared from the console\n";

vi.setConfig({ testTimeout: 60_000 });

beforeAll(async () => {
  [env, s3] = await Promise.all([startTestStack(), startS3rver(["ingress", "policies"])]);
  base = env.stack.primaryUrl;
  admin = await apiAs(base, ADMIN.username, ADMIN.password);
  const { nodes } = await admin<{ nodes: { id: string }[] }>("GET", "/api/v1/admin/nodes");
  nodeId = nodes[0]!.id;
  browser = await launchBrowser();
  page = browser.page;
  await login(page, base, ADMIN.username, ADMIN.password);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await env?.close();
  await s3?.stop();
});

const statusClass = () => page.locator("#status").getAttribute("class");

/** Fills the S3 fieldset shared by the ingress-target and storage-policy forms. */
async function fillS3(form: ReturnType<Page["locator"]>, bucket: string, accessKeyId: string) {
  await form.getByLabel("Endpoint").fill(s3.endpoint);
  await form.getByLabel("Region").fill("us-east-1");
  await form.getByLabel("Bucket").fill(bucket);
  await form.getByLabel("Access key ID").fill(accessKeyId);
  await form.getByLabel("Secret access key").fill("S3RVER");
}

describe("admin forms in the console", { timeout: BROWSER_TEST_TIMEOUT }, () => {
  test("an s3 ingress target applies with good credentials, shows failed with its reason otherwise, and applies once the key is fixed", async () => {
    await page.goto(`${base}/admin/nodes/${nodeId}`);
    const form = page.getByRole("form", { name: "New ingress target" });
    const create = async (name: string, accessKeyId: string) => {
      await form.getByLabel("Name").fill(name);
      await form.getByLabel("Driver").selectOption("s3");
      await form.getByLabel("Base path").fill(`prefix-${name}`);
      await fillS3(form, "ingress", accessKeyId);
      await screenshot(page, `admin-forms-ingress-${name}`);
      await form.getByRole("button", { name: "Create ingress target" }).click();
    };

    await create("s3-good", "S3RVER");
    await expectStatus(page, /Ingress target "s3-good" created: applied\.$/);
    expect(await statusClass()).toBe("status ok");
    const good = page.locator('tr[data-target="s3-good"]');
    await expect.poll(() => good.locator('td[data-label="State"]').textContent()).toBe("applied rev 1/1");
    expect(await good.locator('td[data-label="Driver"]').textContent()).toBe("s3");
    expect(await good.locator('td[data-label="Base path"]').textContent()).toBe("prefix-s3-good in ingress");
    // The node's first target becomes its default.
    expect(await good.locator('td[data-label="Default"]').textContent()).toBe("default");

    await create("s3-bad-key", "NOT-S3RVER");
    const status = await expectStatus(page, /Ingress target "s3-bad-key" created: failed \(.+\)\.$/);
    const bad = page.locator('tr[data-target="s3-bad-key"]');
    await expect.poll(() => bad.locator('td[data-label="State"]').textContent()).toMatch(/^failed rev/);
    const reason = (await bad.locator('td[data-label="Reason"]').textContent()) ?? "";
    expect(reason).toMatch(/HTTP 403/);
    expect(status).toContain(reason);
    expect(await statusClass()).toBe("status error");
    expect(await bad.locator('td[data-label="Default"]').textContent()).toBe("—");
    await screenshot(page, "admin-forms-ingress-targets");

    const { ingress_targets } = await admin<{ ingress_targets: IngressTargetView[] }>(
      "GET",
      `/api/v1/admin/nodes/${nodeId}`,
    );
    expect(ingress_targets.find((t) => t.name === "s3-good")).toMatchObject({
      state: "applied",
      reason: null,
    });
    expect(ingress_targets.find((t) => t.name === "s3-bad-key")).toMatchObject({ state: "failed", reason });
    expect(JSON.stringify(ingress_targets)).not.toContain("S3RVER");

    // Fixing the key in the row's Edit form pushes a new revision, which applies.
    await bad.locator("summary", { hasText: "Edit" }).click();
    const edit = page.getByRole("form", { name: "Edit ingress target s3-bad-key" });
    expect(await edit.getByLabel("Endpoint").inputValue()).toBe(s3.endpoint);
    expect(await edit.getByLabel("Access key ID").inputValue()).toBe("");
    await edit.getByLabel("Access key ID").fill("S3RVER");
    await screenshot(page, "admin-forms-ingress-edit");
    await edit.getByRole("button", { name: "Save ingress target" }).click();
    await expectStatus(page, /^Ingress target "s3-bad-key" saved and pushed: applied\.$/);
    await expect.poll(() => bad.locator('td[data-label="State"]').textContent()).toBe("applied rev 2/2");
    expect(await bad.locator('td[data-label="Reason"]').textContent()).toBe("—");
  });

  test("an s3 storage policy is saved from New Policy and its connection test succeeds on the page (and fails for a missing bucket)", async () => {
    await page.goto(`${base}/admin/policies`);
    const form = page.getByRole("form", { name: "New Policy" });
    const create = async (name: string, bucket: string) => {
      await form.getByLabel("Name").fill(name);
      await form.getByLabel("Driver type").selectOption("s3");
      await expect.poll(() => form.getByLabel("Follower node").isVisible()).toBe(false);
      await form.getByLabel("Key prefix").fill("console");
      await fillS3(form, bucket, "S3RVER");
      await screenshot(page, `admin-forms-new-s3-policy-${bucket}`);
      await form.getByRole("button", { name: "Save policy" }).click();
      await expectStatus(page, new RegExp(`^Storage policy "${name}" saved \\(chunk size 5 MiB\\)`));
      return page.locator(`tr[data-policy="${name}"]`);
    };

    const row = await create("S3 Console Policy", "policies");
    expect(await row.locator('td[data-label="Driver"]').textContent()).toBe("s3");
    await row.getByRole("button", { name: "Test S3 Console Policy" }).click();
    await expectStatus(
      page,
      /^Policy test of "S3 Console Policy" succeeded: write ok, read ok, delete ok\.$/,
    );
    expect(await statusClass()).toBe("status ok");

    const missing = await create("S3 Missing Bucket", "absent");
    await missing.getByRole("button", { name: "Test S3 Missing Bucket" }).click();
    await expectStatus(page, /^Policy test of "S3 Missing Bucket" failed: write failed \(.+\)\.$/);
    expect(await statusClass()).toBe("status error");
    const { policies } = await admin<{
      policies: { id: string; name: string; driver: string; key_prefix: string; s3: unknown }[];
    }>("GET", "/api/v1/admin/policies");
    const saved = policies.find((p) => p.name === "S3 Console Policy");
    expect(saved).toMatchObject({
      driver: "s3",
      key_prefix: "console",
      s3: { endpoint: s3.endpoint, bucket: "policies", path_style: true, has_credentials: true },
    });
    const tested = await admin<{ ok: boolean }>("POST", `/api/v1/admin/policies/${saved!.id}/test`);
    expect(tested.ok).toBe(true);
  });

  test("a share link's Copy link puts the share URL on the clipboard, and that URL opens the share", async () => {
    await browser.context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: base });
    await page.goto(`${base}/files`);
    await page
      .locator("#file-picker")
      .setInputFiles([{ name: "shared-note.txt", mimeType: "text/plain", buffer: Buffer.from(NOTE) }]);
    const row = page.locator('table.files tr[data-item="shared-note.txt"]');
    await row.waitFor();
    await row.getByRole("button", { name: "Share shared-note.txt" }).click();
    const form = page.getByRole("form", { name: "Share shared-note.txt" });
    await form.getByRole("button", { name: "Create share link" }).click();
    await expectStatus(page, /Share link for "shared-note\.txt" created\./);
    const shown = await form.getByLabel("Share link").inputValue();
    expect(shown).toMatch(new RegExp(`^${base.replace(/[.:/]/g, "\\$&")}/s/[A-Za-z0-9_-]{20,}$`));

    await page.evaluate(() => navigator.clipboard.writeText("something else"));
    await form.getByRole("button", { name: "Copy link" }).click();
    await expectStatus(page, /^Share link copied\.$/);
    await screenshot(page, "admin-forms-share-copied");
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(shown);

    // A visitor with a browser of their own: no session cookie.
    const visitor = await launchBrowser();
    const shared = visitor.page;
    try {
      await shared.goto(shown);
      await shared.getByRole("heading", { name: "Shared with you", level: 1 }).waitFor();
      await shared.getByRole("heading", { name: "shared-note.txt", level: 2 }).waitFor();
      const href = await shared.getByRole("link", { name: "Download shared-note.txt" }).getAttribute("href");
      const body = await shared.evaluate(async (url) => (await fetch(url!)).text(), href);
      expect(body).toBe(NOTE);
    } finally {
      await visitor.close();
    }
  });

  test("a share page previews a PDF (from a blob: URL) and an image, but not on a link with a download limit", async () => {
    const pdf = pdfFile("shared.pdf", "Shared PDF preview");
    const png = pngFile("shared.png");
    await page.goto(`${base}/files`);
    await page
      .locator("#file-picker")
      .setInputFiles(
        [pdf, png].map((f) => ({ name: f.name, mimeType: f.contentType, buffer: Buffer.from(f.bytes) })),
      );
    for (const f of [pdf, png]) {
      await page.locator(`table.files tr[data-item="${f.name}"]`).waitFor();
    }
    const { items } = await admin<{ items: { id: string; name: string }[] }>(
      "GET",
      "/api/v1/spaces/me/items",
    );
    const ids = Object.fromEntries(items.map((i) => [i.name, i.id]));
    const share = async (fileId: string, body: Record<string, unknown> = {}) =>
      `${base}/s/${(await admin<{ token: string }>("POST", "/api/v1/spaces/me/shares", { file_id: fileId, ...body })).token}`;
    const visitor = await launchBrowser();
    const shared = visitor.page;
    try {
      const saved = shared.waitForEvent("download");
      await shared.goto(await share(ids[pdf.name]!));
      await expectPdfFrame(shared.locator(`iframe[title="Preview of ${pdf.name}"]`), pdf.bytes, saved);

      await shared.goto(await share(ids[png.name]!));
      const image = shared.getByRole("img", { name: `Preview of ${png.name}` });
      await image.waitFor();
      await expect
        .poll(() => image.evaluate((img) => (img as HTMLImageElement).naturalWidth), { timeout: 60_000 })
        .toBeGreaterThan(0);

      // A limited link shows what is left and no preview (the server would refuse it uncounted).
      await shared.goto(await share(ids[png.name]!, { max_downloads: 3 }));
      await shared.getByText("3 downloads left.").waitFor();
      expect(await shared.getByRole("img", { name: `Preview of ${png.name}` }).count()).toBe(0);
      await screenshot(shared, "admin-forms-share-limited");
    } finally {
      await visitor.close();
    }
  });

  test('"Load more" brings the items after the first 200 once, without duplicates', async () => {
    const parent = await admin<{ id: string }>("POST", "/api/v1/spaces/me/folders", { name: "many" });
    const names = Array.from({ length: 205 }, (_, i) => `item-${String(i).padStart(3, "0")}`);
    for (let i = 0; i < names.length; i += 25) {
      await Promise.all(
        names
          .slice(i, i + 25)
          .map((name) => admin("POST", "/api/v1/spaces/me/folders", { name, parent_id: parent.id })),
      );
    }
    await page.goto(`${base}/files/me/${parent.id}`);
    const rows = page.locator("table.files tbody tr");
    await rows.first().waitFor();
    expect(await rows.count()).toBe(200);
    const more = page.getByRole("button", { name: "Load more" });
    expect(await more.isVisible()).toBe(true);
    await screenshot(page, "admin-forms-load-more");

    // Hold the next page until both clicks of a double click are in: the second must not load it again.
    let requested = 0;
    let release!: () => void;
    const held = new Promise<void>((done) => {
      release = done;
    });
    await page.route(/\/api\/v1\/spaces\/me\/items\?.*cursor=/, async (route) => {
      requested += 1;
      await held;
      await route.continue();
    });
    await more.dblclick();
    await expect.poll(() => requested).toBeGreaterThan(0);
    release();
    await more.waitFor({ state: "hidden" });
    await expect.poll(() => rows.count()).toBe(205);
    const shown = await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-item")));
    expect(shown).toEqual(names);
    expect(requested).toBe(1);
    await page.unroute(/\/api\/v1\/spaces\/me\/items\?.*cursor=/);
  });

  test("Storage Policies: Edit saves a policy's name, size limit, chunk size and key prefix", async () => {
    const created = await admin<{ id: string }>("POST", "/api/v1/admin/policies", {
      name: "Editable",
      driver: "primary",
    });
    await page.goto(`${base}/admin/policies`);
    const row = page.locator('tr[data-policy="Editable"]');
    await row.locator("summary", { hasText: "Edit" }).waitFor();
    await row.locator("summary", { hasText: "Edit" }).focus();
    await page.keyboard.press("Enter");
    const form = page.getByRole("form", { name: "Edit storage policy Editable" });
    expect(await form.getByLabel("Chunk size (MiB)").inputValue()).toBe("5");
    await form.getByLabel("Name").fill("Edited");
    await form.getByLabel("Single-file size limit (MiB)").fill("2");
    await form.getByLabel("Chunk size (MiB)").fill("8");
    await form.getByLabel("Key prefix").fill("edited/");
    await form.getByRole("button", { name: "Save policy" }).click();
    await expectStatus(page, /^Storage policy "Edited" saved\.$/);
    await page.locator('tr[data-policy="Edited"]').waitFor();
    const saved = await admin<{
      name: string;
      max_file_size: number;
      chunk_size: number;
      key_prefix: string;
    }>("GET", `/api/v1/admin/policies/${created.id}`);
    expect(saved).toMatchObject({
      name: "Edited",
      max_file_size: 2 * 1024 * 1024,
      chunk_size: 8 * 1024 * 1024,
      key_prefix: "edited",
    });
    // A refusal is shown in words and changes nothing.
    await page.locator('tr[data-policy="Edited"] summary', { hasText: "Edit" }).click();
    await page
      .getByRole("form", { name: "Edit storage policy Edited" })
      .getByLabel("Name")
      .fill("Primary store");
    await page
      .getByRole("form", { name: "Edit storage policy Edited" })
      .getByRole("button", { name: "Save policy" })
      .click();
    await expectStatus(page, /already exists/);
    expect((await admin<{ name: string }>("GET", `/api/v1/admin/policies/${created.id}`)).name).toBe(
      "Edited",
    );
  });

  test("Policy Groups: rules of max 1 MiB and min 1 MiB + 1 byte show their real bounds and the unmatched size", async () => {
    const MiB = 1024 * 1024;
    const policy = async (name: string) =>
      (await admin<{ id: string }>("POST", "/api/v1/admin/policies", { name, driver: "primary" })).id;
    const [small, large] = [await policy("Gap small"), await policy("Gap large")];
    await admin("POST", "/api/v1/admin/policy-groups", {
      name: "Gap Group",
      rules: [
        { policy_id: small, priority: 1, min_size: 0, max_size: MiB },
        { policy_id: large, priority: 2, min_size: MiB + 1, max_size: 0 },
      ],
    });
    await page.goto(`${base}/admin/policy-groups`);
    const card = page.locator('article[data-group="Gap Group"]');
    await card.waitFor();
    const text = (await card.textContent()) ?? "";
    expect(text).toMatch(/0 B to under 1 MiB\s*Gap small/);
    expect(text).toMatch(/1,048,577 B and above\s*Gap large/);
    expect(await card.getByTestId("group-warning").textContent()).toContain(
      "No usable rule matches sizes 1048576 to under 1048577 bytes",
    );
    await screenshot(page, "admin-forms-policy-group-gap");
  });

  test("Policy Groups: the default moves to a new group; only a group that is not the default can be disabled or deleted", async () => {
    const groups = () =>
      admin<{ policy_groups: { id: string; name: string; is_default: boolean; enabled: boolean }[] }>(
        "GET",
        "/api/v1/admin/policy-groups",
      ).then((r) => r.policy_groups);
    const original = (await groups()).find((g) => g.is_default)!;
    expect(original).toBeDefined();
    const card = (name: string) => page.locator(`article[data-group="${name}"]`);
    const heading = (name: string) => card(name).getByRole("heading", { level: 2 });

    await page.goto(`${base}/admin/policy-groups`);
    const form = page.getByRole("form", { name: "New Policy Group" });
    await form.getByLabel("Name").fill("Group Two");
    await form.getByLabel("Description").fill("made default from the console");
    await screenshot(page, "admin-forms-new-policy-group");
    await form.getByRole("button", { name: "Create policy group" }).click();
    await expectStatus(page, /Policy group "Group Two" created/);
    expect(await heading("Group Two").textContent()).not.toContain("default for new users");

    await card("Group Two").getByRole("button", { name: "Make Group Two the default for new users" }).click();
    await expectStatus(page, /^"Group Two" is now the default policy group for new users\.$/);
    await expect.poll(() => heading("Group Two").textContent()).toContain("default for new users");
    expect(await heading(original.name).textContent()).not.toContain("default for new users");
    let now = await groups();
    expect(now.filter((g) => g.is_default).map((g) => g.name)).toEqual(["Group Two"]);
    await screenshot(page, "admin-forms-policy-groups-moved");

    // The new default offers neither delete nor disable (the API would refuse both), and says why.
    expect(await card("Group Two").getByRole("button", { name: "Delete Group Two" }).count()).toBe(0);
    expect(await card("Group Two").getByRole("button", { name: "Disable Group Two" }).count()).toBe(0);
    expect(await card("Group Two").textContent()).toContain("The default group stays enabled");
    expect((await groups()).find((g) => g.name === "Group Two")?.enabled).toBe(true);

    // The old default can now be disabled (and enabled again) and offers delete.
    await card(original.name)
      .getByRole("button", { name: `Disable ${original.name}` })
      .click();
    await expectStatus(page, new RegExp(`^"${original.name}" disabled\\.$`));
    expect((await groups()).find((g) => g.id === original.id)?.enabled).toBe(false);
    // A disabled group is not offered as the default.
    expect(
      await card(original.name)
        .getByRole("button", { name: `Make ${original.name} the default for new users` })
        .count(),
    ).toBe(0);
    await card(original.name)
      .getByRole("button", { name: `Enable ${original.name}` })
      .click();
    await expectStatus(page, new RegExp(`^"${original.name}" enabled\\.$`));
    expect(
      await card(original.name)
        .getByRole("button", { name: `Delete ${original.name}` })
        .count(),
    ).toBe(1);

    // Moving the default back makes Group Two an old default, which can then be deleted.
    await card(original.name)
      .getByRole("button", { name: `Make ${original.name} the default for new users` })
      .click();
    await expectStatus(page, new RegExp(`^"${original.name}" is now the default`));
    page.once("dialog", (dialog) => void dialog.accept());
    await card("Group Two").getByRole("button", { name: "Delete Group Two" }).click();
    await expectStatus(page, /^Policy group "Group Two" deleted\.$/);
    await expect.poll(() => card("Group Two").count()).toBe(0);
    now = await groups();
    expect(now.map((g) => g.name)).not.toContain("Group Two");
    expect(now.find((g) => g.is_default)).toMatchObject({ id: original.id, enabled: true });
  });
});
