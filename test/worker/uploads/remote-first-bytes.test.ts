// Relayed uploads to a REAL follower agent open their outbound PUT only once the first checked bytes
// are there (worker/storage/remote.ts through streams.ts firstBytesReady), in process and inside
// workerd: a part or a whole small file refused for its digest makes no request to the agent at all,
// where inside workerd the PUT went on the wire with its headers at once and was cut there. The agent
// logs every request it answers; the refused attempts must not be among them.
import type { AddressInfo } from "node:net";
import { type ServerType, serve } from "@hono/node-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { UploadOut } from "../../../worker/api/uploads.ts";
import { type AgentProcess, startAgentProcess } from "../../support/agents.ts";
import { bytes, sha256 } from "../../support/bytes.ts";
import { bindUserToPolicy } from "../../support/groups.ts";
import { createHarness, type Harness, ORIGIN, realFetch, seedUser } from "../../support/primary.ts";
import { type UploadClient, uploadClient } from "../../support/upload-client.ts";

describe("relay uploads to a follower open no request for a body refused before its first byte", () => {
  let h: Harness;
  let agent: AgentProcess;
  let server: ServerType | undefined;
  let c: UploadClient;
  const ctx = { waitUntil: (promise: Promise<unknown>) => void h.pending.push(promise) };

  /** The agent's logged PUT requests so far, by path. */
  const agentPuts = () =>
    agent
      .output()
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as { message?: string; method?: string; path?: string | null })
      .filter((record) => record.message === "request" && record.method === "PUT")
      .map((record) => record.path ?? "");

  beforeAll(async () => {
    h = await createHarness({ fetch: realFetch });
    // The agent redeems its enrollment token over HTTP: workerd's own front, or the app served here.
    let origin: string;
    if (h.workerd) {
      origin = h.workerd.url.origin;
    } else {
      const port = await new Promise<number>((resolve) => {
        server = serve(
          { fetch: (request) => h.app.fetch(request, h.env, ctx), hostname: "127.0.0.1", port: 0 },
          (info: AddressInfo) => resolve(info.port),
        );
      });
      origin = `http://127.0.0.1:${port}`;
    }
    const admin = await seedUser(h, "admin");
    const ok = async <T>(method: string, path: string, body: unknown, status = 200): Promise<T> => {
      const response = await h.call(method, path, { token: admin.token, body });
      const text = await response.text();
      if (response.status !== status) throw new Error(`${method} ${path}: ${response.status} ${text}`);
      return JSON.parse(text) as T;
    };
    const node = await ok<{ id: string }>(
      "POST",
      "/api/v1/admin/nodes",
      { name: "Follower first bytes" },
      201,
    );
    const path = `/api/v1/admin/nodes/${node.id}`;
    const { token } = await ok<{ token: string }>("POST", `${path}/enrollment-token`, {}, 201);
    agent = await startAgentProcess({ primaryUrl: origin, token, advertise: true });
    await ok("PATCH", path, { base_url: agent.baseUrl });
    await ok("POST", `${path}/test`, undefined);
    const target = await ok<{ state: string }>(
      "POST",
      `${path}/ingress-targets`,
      { name: "default-local", driver: "local", base_path: "default" },
      201,
    );
    expect(target.state).toBe("applied");
    // Parts of 4 KiB, so an 8 KiB file is a multipart upload and a 4 KiB one a single PUT.
    const policy = await ok<{ id: string }>(
      "POST",
      "/api/v1/admin/policies",
      { name: "Remote relay first bytes", driver: "remote", node_id: node.id, chunk_size: 4096 },
      201,
    );
    const user = await seedUser(h);
    await bindUserToPolicy(h.db, user.user, policy.id);
    c = uploadClient((p, init) => h.app.fetch(new Request(`${ORIGIN}${p}`, init), h.env, ctx), user.token);
  });
  afterAll(async () => {
    await agent?.destroy();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    await h?.close();
  });

  /**
   * Part `n` of `upload` (the bytes `part`) sent with another digest (refused), then with its own; the
   * upload completes as `data`. The agent logs a request once answered: only the good PUT is there.
   */
  async function refusedThenStored(
    upload: UploadOut,
    n: number,
    part: Uint8Array<ArrayBuffer>,
    data: Uint8Array<ArrayBuffer>,
  ) {
    const before = agentPuts().length;
    const wrong = sha256(new Uint8Array([...part, 0]));
    const refused = await c.fail(await c.putPart(upload.id, n, part, { "x-flotilla-sha256": wrong }));
    expect(refused).toMatchObject({ status: 400, code: "content_digest_mismatch" });
    await c.ok(await c.putPart(upload.id, n, part, { "x-flotilla-sha256": sha256(part) }));
    const done = await c.ok<{ file: { sha256: string } }>(await c.complete(upload.id));
    expect(done.file.sha256).toBe(sha256(data));
    await expect.poll(() => agentPuts().length).toBeGreaterThan(before);
    expect(agentPuts().slice(before), agent.output()).toHaveLength(1);
  }

  it("sends a small file refused for its digest nowhere, then the same file with its own", async () => {
    const data = bytes(4096, 41);
    const upload = await c.ok<UploadOut>(await c.init({ name: "whole.bin", size: data.length }), 201);
    expect(upload.part_count).toBe(1);
    await refusedThenStored(upload, 1, data, data);
  });

  it("sends a part refused for its digest nowhere, then the part with its own", async () => {
    const data = bytes(8192, 43);
    const upload = await c.ok<UploadOut>(await c.init({ name: "parts.bin", size: data.length }), 201);
    expect(upload.part_count).toBe(2);
    await c.ok(await c.putPart(upload.id, 1, data.subarray(0, 4096)));
    await expect.poll(() => agentPuts().filter((p) => p.includes("/parts/1")).length).toBeGreaterThan(0);
    await refusedThenStored(upload, 2, data.subarray(4096), data);
  });
});
