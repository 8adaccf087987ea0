// Object pulls on the agent (protocol v2 POST /pulls): the agent fetches an object from a URL itself
// and keeps it only with the declared size and SHA-256. Sources are real HTTP servers on 127.0.0.1
// that answer well, lie about the bytes, redirect, break off or hold the body.
import { readdir } from "node:fs/promises";
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomToken, sha256Hex } from "../../shared/crypto.ts";
import { presignUrl } from "../../shared/protocol/presign.ts";
import type { PullStatus } from "../../shared/protocol/schemas.ts";
import { bytes } from "../support/bytes.ts";
import { inProcessAgent } from "./helpers.ts";

type Agent = Awaited<ReturnType<typeof inProcessAgent>>;

describe("object pulls", () => {
  let agent: Agent;
  let source: Server;
  let base = "";
  const content = bytes(300_000, 7);
  let digest = "";
  const hits: string[] = [];
  const held: ServerResponse[] = [];

  beforeAll(async () => {
    digest = await sha256Hex(content);
    agent = await inProcessAgent({ maxObjectBytes: 1_000_000 });
    await agent.client.upsertIngressTarget("main", {
      name: "main",
      revision: 1,
      is_default: true,
      driver: "local",
      base_path: "main",
    });
    source = createServer((req, res) => {
      hits.push(req.url ?? "");
      const path = req.url ?? "";
      if (path === "/good") {
        res.writeHead(200, { "content-length": String(content.byteLength) });
        res.end(content);
      } else if (path === "/other-bytes") {
        const other = bytes(content.byteLength, 8);
        res.writeHead(200, { "content-length": String(other.byteLength) });
        res.end(other);
      } else if (path === "/redirect") {
        res.writeHead(302, { location: `${base}/good` });
        res.end();
      } else if (path === "/short-length") {
        res.writeHead(200, { "content-length": "10" });
        res.end("0123456789");
      } else if (path === "/breaks-off") {
        res.writeHead(200, { "content-length": String(content.byteLength) });
        res.write(content.subarray(0, 100_000), () => res.destroy());
      } else if (path === "/held") {
        res.writeHead(200, { "content-length": String(content.byteLength) });
        res.write(content.subarray(0, 50_000));
        held.push(res);
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((resolve) => source.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(source.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    for (const res of held) res.destroy();
    await new Promise<void>((resolve) => source.close(() => resolve()));
    await agent?.cleanup();
  });

  const start = (path: string, overrides: Record<string, unknown> = {}) =>
    agent.client.startPull({
      pull_id: randomToken("pl", 12),
      key: `files/${randomToken("f", 8)}`,
      source_url: `${base}${path}`,
      size: content.byteLength,
      sha256: digest,
      ...overrides,
    });

  async function settled(id: string): Promise<PullStatus> {
    for (;;) {
      const status = await agent.client.pullStatus(id);
      if (status.state !== "running") return status;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  const tempFiles = () => readdir(join(agent.root, "main", ".flotilla", "tmp")).catch(() => []);

  it("says it pulls in its capabilities", async () => {
    expect((await agent.client.capabilities()).features.pull).toBe(true);
  });

  it("fetches the object itself and commits it with its digest", async () => {
    const started = await start("/good", { content_type: "image/png" });
    expect(started.state).toBe("running");
    const done = await settled(started.pull_id);
    expect(done).toMatchObject({ state: "done", received_bytes: content.byteLength, error: null });
    expect(done.object).toMatchObject({
      key: started.key,
      target: "main",
      size: content.byteLength,
      sha256: digest,
    });
    const response = await agent.client.getObject(started.key);
    expect(response.headers.get("content-type")).toBe("image/png");
    expect(await sha256Hex(new Uint8Array(await response.arrayBuffer()))).toBe(digest);
  });

  it("keeps nothing when the fetched bytes have another digest", async () => {
    const started = await start("/other-bytes");
    const failed = await settled(started.pull_id);
    expect(failed.state).toBe("failed");
    expect(failed.error?.code).toBe("content_digest_mismatch");
    expect(await agent.client.headObject(started.key)).toBeNull();
    expect(await tempFiles()).toEqual([]);
  });

  it("follows no redirect", async () => {
    const before = hits.filter((h) => h === "/good").length;
    const failed = await settled((await start("/redirect")).pull_id);
    expect(failed.error).toMatchObject({ code: "pull_source_refused", source_status: 302 });
    expect(hits.filter((h) => h === "/good").length).toBe(before);
  });

  it("refuses a source that is missing the object or offers another length", async () => {
    const missing = await settled((await start("/missing")).pull_id);
    expect(missing.error).toMatchObject({ code: "pull_source_refused", source_status: 404 });
    const shorter = await settled((await start("/short-length")).pull_id);
    expect(shorter.error).toMatchObject({ code: "pull_source_refused", source_status: 200 });
  });

  it("reports a source that breaks off mid-object as unreachable and keeps nothing", async () => {
    const started = await start("/breaks-off");
    const failed = await settled(started.pull_id);
    expect(failed.error?.code).toBe("pull_source_unreachable");
    expect(failed.received_bytes).toBeLessThan(content.byteLength);
    expect(await agent.client.headObject(started.key)).toBeNull();
    expect(await tempFiles()).toEqual([]);
  });

  it("answers a repeated start with the same pull, and refuses its id for another pull", async () => {
    const first = await start("/good");
    const again = await agent.client.startPull({
      pull_id: first.pull_id,
      key: first.key,
      source_url: `${base}/good`,
      size: content.byteLength,
      sha256: digest,
    });
    expect(again.pull_id).toBe(first.pull_id);
    await expect(start("/good", { pull_id: first.pull_id })).rejects.toMatchObject({ code: "conflict" });
    expect((await settled(first.pull_id)).state).toBe("done");
  });

  it("cancels a running pull: nothing is kept and the pull is gone", async () => {
    const started = await start("/held");
    while ((await agent.client.pullStatus(started.pull_id)).received_bytes === 0) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await agent.client.cancelPull(started.pull_id);
    await expect(agent.client.pullStatus(started.pull_id)).rejects.toMatchObject({ code: "pull_not_found" });
    await agent.client.cancelPull(started.pull_id);
    while ((await tempFiles()).length > 0) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(await agent.client.headObject(started.key)).toBeNull();
  });

  it("refuses an object over the node's limit before fetching anything", async () => {
    const before = hits.length;
    await expect(start("/good", { size: 2_000_000 })).rejects.toMatchObject({ code: "object_too_large" });
    expect(hits.length).toBe(before);
  });

  it("refuses source URLs that are not http(s)", async () => {
    await expect(
      agent.client.startPull({
        pull_id: randomToken("pl", 12),
        key: "files/x",
        source_url: "file:///etc/passwd",
        size: 1,
        sha256: digest,
      }),
    ).rejects.toMatchObject({ code: "validation_failed" });
  });

  it("takes pulls only as signed requests, never through a presigned URL", async () => {
    const url = await presignUrl({
      method: "GET",
      baseUrl: "http://agent.test",
      path: `/internal/v2/pulls/${randomToken("pl", 12)}`,
      credentials: { keyId: agent.issued.key_id, secret: agent.issued.secret },
      expiresInSeconds: 60,
    });
    const response = await agent.fetch(url);
    expect(response.status).toBe(401);
  });
});
