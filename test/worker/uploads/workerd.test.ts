// Uploads through the real single-box stack: the primary inside workerd (Miniflare), the local libSQL
// server, Follower 1 enrolled through the API. Tutorial §9 with the primary's own store: a group routes
// 0 to 1 MiB to "Primary store" (the R2 binding) and larger files to a remote relay policy; uploads of
// both sizes stream through workerd and land on the expected storage.
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Stack } from "../../../scripts/stack/stack.ts";
import type { UploadOut } from "../../../worker/api/uploads.ts";
import { bytes, sha256 } from "../../support/bytes.ts";
import { apiToken, startTestStackIn } from "../../support/stack.ts";
import { relayWhole, type UploadClient, uploadClient } from "../../support/upload-client.ts";

const MiB = 1024 * 1024;
const ADMIN = { username: "admin", password: "correct horse battery staple" };

describe("uploads through the primary in workerd", () => {
  let dir: string;
  let stack: Stack;
  let admin: UploadClient;
  let user: UploadClient;
  const ids = { primaryPolicy: "", remotePolicy: "" };

  const api = (path: string, init?: RequestInit) => fetch(`${stack.primaryUrl}${path}`, init);
  const login = (username: string, password: string) => apiToken(stack.primaryUrl, username, password);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "flotilla-uploads-workerd-"));
    stack = await startTestStackIn(dir, ADMIN);
    admin = uploadClient(api, await login(ADMIN.username, ADMIN.password));
    const { nodes } = await admin.ok<{ nodes: { id: string }[] }>(
      await admin.json("GET", "/api/v1/admin/nodes"),
    );
    const nodeId = nodes[0]!.id;
    const target = await admin.json("POST", `/api/v1/admin/nodes/${nodeId}/ingress-targets`, {
      name: "default-local",
      driver: "local",
      base_path: "default",
    });
    expect((await admin.ok<{ state: string }>(target, 201)).state).toBe("applied");
    const { policies } = await admin.ok<{ policies: { id: string; driver: string }[] }>(
      await admin.json("GET", "/api/v1/admin/policies"),
    );
    ids.primaryPolicy = policies.find((p) => p.driver === "primary")!.id;
    const remote = await admin.json("POST", "/api/v1/admin/policies", {
      name: "Remote Follower 1",
      driver: "remote",
      node_id: nodeId,
      chunk_size: MiB,
    });
    ids.remotePolicy = (await admin.ok<{ id: string }>(remote, 201)).id;
    const group = await admin.json("POST", "/api/v1/admin/policy-groups", {
      name: "Size routing",
      rules: [
        { policy_id: ids.primaryPolicy, priority: 1, min_size: 0, max_size: MiB },
        { policy_id: ids.remotePolicy, priority: 2, min_size: MiB, max_size: 0 },
      ],
    });
    const groupId = (await admin.ok<{ id: string }>(group, 201)).id;
    const password = "another horse battery staple";
    await admin.ok(
      await admin.json("POST", "/api/v1/admin/users", {
        username: "tester",
        password,
        policy_group_id: groupId,
      }),
      201,
    );
    user = uploadClient(api, await login("tester", password));
  }, 120_000);
  afterAll(async () => {
    await stack?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("stores a small file in the primary's own store (R2 binding) through workerd", async () => {
    const data = bytes(1000, 21);
    const upload = await user.ok<UploadOut>(await user.init({ name: "note.txt", size: data.length }), 201);
    expect(upload).toMatchObject({ policy_id: ids.primaryPolicy, mode: "relay_stream", part_count: 1 });
    const done = await relayWhole(user, upload, data);
    expect(done.file).toMatchObject({ policy_id: ids.primaryPolicy, sha256: sha256(data), size: 1000 });
    const followerCopy = join(dir, "data", "follower-1", "managed-ingress", "default", "files", done.file.id);
    expect(existsSync(followerCopy)).toBe(false);
  });

  it("streams a file of more than three parts through workerd to the follower, composed there", async () => {
    const data = bytes(3 * MiB + 999, 22);
    const upload = await user.ok<UploadOut>(
      await user.init({ name: "large.bin", size: data.length, sha256: sha256(data) }),
      201,
    );
    expect(upload).toMatchObject({ policy_id: ids.remotePolicy, part_count: 4 });
    const done = await relayWhole(user, upload, data);
    expect(done.file).toMatchObject({ policy_id: ids.remotePolicy, sha256: sha256(data) });
    const onDisk = join(dir, "data", "follower-1", "managed-ingress", "default", "files", done.file.id);
    expect(sha256(new Uint8Array(await readFile(onDisk)))).toBe(sha256(data));
  });

  it("answers the next request on a kept-alive connection after a 40 MiB relayed download", async () => {
    const data = bytes(40 * MiB, 25);
    const upload = await user.ok<UploadOut>(
      await user.init({ name: "keepalive.bin", size: data.length }),
      201,
    );
    expect(upload.policy_id).toBe(ids.remotePolicy);
    const done = await relayWhole(user, upload, data);
    const url = new URL(`${stack.primaryUrl}/api/v1/spaces/me/files/${done.file.id}/content`);
    // One socket, kept alive, as a download client reuses it: the whole file, a pause, then a range.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const get = (range?: string) =>
      new Promise<{ status: number; body: Buffer; reused: boolean }>((resolve, reject) => {
        const req = request(
          url,
          { agent, headers: { authorization: `Bearer ${user.token}`, ...(range ? { range } : {}) } },
          (response) => {
            const chunks: Buffer[] = [];
            response.on("data", (chunk: Buffer) => chunks.push(chunk));
            response.on("end", () =>
              resolve({
                status: response.statusCode ?? 0,
                body: Buffer.concat(chunks),
                reused: req.reusedSocket,
              }),
            );
            response.on("error", reject);
          },
        );
        req.on("error", reject);
        req.end();
      });
    try {
      for (let round = 0; round < 3; round++) {
        const whole = await get();
        expect(whole.status).toBe(200);
        expect(sha256(new Uint8Array(whole.body))).toBe(sha256(data));
        await new Promise((resolve) => setTimeout(resolve, 100));
        const ranged = await get("bytes=1048576-1049599");
        expect(ranged).toMatchObject({ status: 206, reused: true });
        expect(Buffer.compare(ranged.body, Buffer.from(data.subarray(MiB, MiB + 1024)))).toBe(0);
      }
    } finally {
      agent.destroy();
    }
  });

  it("refuses a part whose bytes do not match its digest inside workerd too", async () => {
    const data = bytes(2000, 23);
    const upload = await user.ok<UploadOut>(await user.init({ name: "bad.bin", size: data.length }), 201);
    const refused = await user.fail(
      await user.putPart(upload.id, 1, data, { "x-flotilla-sha256": sha256(bytes(2000, 24)) }),
    );
    expect(refused).toMatchObject({ status: 400, code: "content_digest_mismatch" });
    expect((await user.ok<UploadOut>(await user.get(upload.id))).parts_received).toEqual([]);
  });
});
