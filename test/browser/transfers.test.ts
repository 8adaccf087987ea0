// Transfers the browser itself must prove: a presigned upload and a ranged download where chromium
// talks to the follower directly (so the follower's CORS answers are what the browser enforces), and
// an upload interrupted by a page reload that continues from the parts the primary already has.
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";
import {
  ADMIN,
  type Agent,
  apiAs,
  BROWSER_TEST_TIMEOUT,
  enrollAndStartAgent,
  launchBrowser,
  login,
  screenshot,
  startTestStack,
  type TestBrowser,
  type TestStack,
} from "./helpers.ts";

const MiB = 1024 * 1024;
let env: TestStack;
let browser: TestBrowser;
let agent: Agent;
let agentDir: string;
let base: string;
let page: Page;

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
const bytes = (size: number, seed: number) =>
  Uint8Array.from({ length: size }, (_, i) => (i * 17 + seed) % 253);
const fileRow = (name: string) => page.locator(`table.files tr[data-item="${name}"]`);

/** A remote policy on the presigning follower, a group with one rule, and a user bound to it. */
async function userOnPolicy(
  admin: Awaited<ReturnType<typeof apiAs>>,
  nodeId: string,
  name: string,
  mode: "presigned" | "relay_stream",
) {
  const policy = await admin<{ id: string }>("POST", "/api/v1/admin/policies", {
    name: `${name} policy`,
    driver: "remote",
    node_id: nodeId,
    chunk_size: MiB,
    upload_mode: mode,
    download_mode: mode,
  });
  const group = await admin<{ id: string }>("POST", "/api/v1/admin/policy-groups", {
    name: `${name} group`,
    rules: [{ policy_id: policy.id, priority: 1 }],
  });
  const password = `${name}-password-1`;
  await admin("POST", "/api/v1/admin/users", { username: name, password, policy_group_id: group.id });
  return { username: name, password };
}

let presignUser: { username: string; password: string };
let relayUser: { username: string; password: string };

vi.setConfig({ testTimeout: 120_000 });

beforeAll(async () => {
  env = await startTestStack();
  base = env.stack.primaryUrl;
  agentDir = await mkdtemp(join(tmpdir(), "flotilla-follower-p-"));
  const admin = await apiAs(base, ADMIN.username, ADMIN.password);
  const node = await admin<{ id: string }>("POST", "/api/v1/admin/nodes", { name: "Presign Follower" });
  const token = await admin<{ command_from_checkout: string }>(
    "POST",
    `/api/v1/admin/nodes/${node.id}/enrollment-token`,
    {},
  );
  agent = await enrollAndStartAgent(
    token.command_from_checkout,
    join(agentDir, "data"),
    join(agentDir, "ingress"),
    { advertiseBaseUrl: true },
  );
  await admin("PATCH", `/api/v1/admin/nodes/${node.id}`, { base_url: agent.url });
  await admin("POST", `/api/v1/admin/nodes/${node.id}/ingress-targets`, {
    driver: "local",
    name: "default-local",
    base_path: "default",
    is_default: true,
  });
  const tested = await admin<{ capabilities: { features: Record<string, boolean> } }>(
    "POST",
    `/api/v1/admin/nodes/${node.id}/test`,
  );
  expect(tested.capabilities.features.browser_presigned_cors).toBe(true);
  presignUser = await userOnPolicy(admin, node.id, "presigner", "presigned");
  relayUser = await userOnPolicy(admin, node.id, "resumer", "relay_stream");
  browser = await launchBrowser();
  page = browser.page;
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await agent?.stop();
  await env?.close();
  if (agentDir) await rm(agentDir, { recursive: true, force: true });
});

describe("browser transfers", { timeout: BROWSER_TEST_TIMEOUT }, () => {
  test("presigned: the browser PUTs the parts to the follower and reads a range from it (CORS)", async () => {
    const followerOrigin = new URL(agent.url).origin;
    const puts: { url: string; status: number }[] = [];
    page.on("response", (r) => {
      if (r.request().method() === "PUT") puts.push({ url: r.url(), status: r.status() });
    });
    const data = bytes(3.5 * MiB, 5);
    await login(page, base, presignUser.username, presignUser.password);
    await page
      .locator("#file-picker")
      .setInputFiles([
        { name: "direct.bin", mimeType: "application/octet-stream", buffer: Buffer.from(data) },
      ]);
    await fileRow("direct.bin").waitFor();
    expect(puts.length).toBe(4);
    for (const put of puts) {
      expect(new URL(put.url).origin).toBe(followerOrigin);
      expect(put.status).toBe(200);
    }

    const ranged = await page.evaluate(async () => {
      const listing = (await (await fetch("/api/v1/spaces/me/items")).json()) as {
        items: { id: string; name: string }[];
      };
      const id = listing.items.find((i) => i.name === "direct.bin")!.id;
      const link = (await (await fetch(`/api/v1/spaces/me/files/${id}/content?redirect=false`)).json()) as {
        url: string;
      };
      const response = await fetch(link.url, { headers: { range: "bytes=1048570-1048585" } });
      return {
        url: link.url,
        status: response.status,
        contentRange: response.headers.get("content-range"),
        acceptRanges: response.headers.get("accept-ranges"),
        contentLength: response.headers.get("content-length"),
        etag: response.headers.get("etag"),
        body: Array.from(new Uint8Array(await response.arrayBuffer())),
      };
    });
    expect(new URL(ranged.url).origin).toBe(followerOrigin);
    expect(ranged.status).toBe(206);
    expect(ranged.contentRange).toBe(`bytes 1048570-1048585/${data.length}`);
    expect(ranged.acceptRanges).toBe("bytes");
    expect(ranged.contentLength).toBe("16");
    expect(ranged.etag).toBeTruthy();
    expect(ranged.body).toEqual(Array.from(data.subarray(1048570, 1048586)));

    const download = page.waitForEvent("download");
    await page.getByRole("link", { name: "Download direct.bin" }).click();
    expect(sha256(await readFile((await (await download).path())!))).toBe(sha256(data));
    await screenshot(page, "09-presigned-upload");
    await page.getByRole("button", { name: "Log out" }).click();
    await page.getByRole("button", { name: "Log in" }).waitFor();
  });

  test("an upload interrupted by a page reload continues with the missing parts only", async () => {
    const data = bytes(6 * MiB, 9);
    await login(page, base, relayUser.username, relayUser.password);
    const cdp = await browser.context.newCDPSession(page);
    await cdp.send("Network.enable");
    await cdp.send("Network.emulateNetworkConditions", {
      offline: false,
      latency: 0,
      downloadThroughput: -1,
      uploadThroughput: 512 * 1024,
    });
    await page
      .locator("#file-picker")
      .setInputFiles([
        { name: "resumed.bin", mimeType: "application/octet-stream", buffer: Buffer.from(data) },
      ]);
    // Wait until the primary holds at least one part, then reload in the middle of the upload.
    let receivedBefore: number[] = [];
    await expect
      .poll(
        async () => {
          receivedBefore = await page.evaluate(async () => {
            const client = localStorage.getItem("flotilla.client_id") ?? "";
            const r = await fetch(`/api/v1/uploads?client_id=${encodeURIComponent(client)}`);
            const { items } = (await r.json()) as { items: { parts_received: number[] }[] };
            return items[0]?.parts_received ?? [];
          });
          return receivedBefore.length;
        },
        { timeout: 60_000, interval: 200 },
      )
      .toBeGreaterThan(0);
    const sentAfter: number[] = [];
    await page.reload();
    page.on("request", (r) => {
      const match = /\/api\/v1\/uploads\/[^/]+\/parts\/(\d+)$/.exec(r.url());
      if (match && r.method() === "PUT") sentAfter.push(Number(match[1]));
    });
    await cdp.send("Network.emulateNetworkConditions", {
      offline: false,
      latency: 0,
      downloadThroughput: -1,
      uploadThroughput: -1,
    });
    await fileRow("resumed.bin").waitFor();
    expect(await page.locator('[data-upload="resumed.bin"]').textContent()).toMatch(/done/);
    const uploaded = await page.evaluate(async () => {
      const listing = (await (await fetch("/api/v1/spaces/me/items")).json()) as {
        items: { name: string; sha256: string; size: number }[];
      };
      return listing.items.find((i) => i.name === "resumed.bin");
    });
    expect(uploaded?.size).toBe(data.length);
    expect(uploaded?.sha256).toBe(sha256(data));
    expect(receivedBefore.length).toBeLessThan(6);
    expect(sentAfter.length).toBeGreaterThan(0);
    expect(sentAfter.filter((n) => receivedBefore.includes(n))).toEqual([]);
    await screenshot(page, "10-resumed-upload");
  });
});
