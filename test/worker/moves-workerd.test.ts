// A move through the real single-box stack: the primary inside workerd (Miniflare), the local libSQL
// server, Follower 1 and a second real agent enrolled through the API. The admin API's dry run and
// job, the scheduled handler's bounded runs (the local stand-in for the cron trigger), and the files
// pulled by the target follower straight from the source, read back with their SHA-256 through workerd.
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stackPaths } from "../../scripts/stack/config.ts";
import { type Follower, startFollower } from "../../scripts/stack/follower.ts";
import { runScheduledWhile } from "../../scripts/stack/scheduled.ts";
import type { Stack } from "../../scripts/stack/stack.ts";
import type { Readiness } from "../../shared/protocol/schemas.ts";
import type { UploadOut } from "../../worker/api/uploads.ts";
import { type AgentProcess, freePort, startAgentProcess } from "../support/agents.ts";
import { bytes, sha256 } from "../support/bytes.ts";
import { apiToken, startTestStackIn } from "../support/stack.ts";
import { relayWhole, type UploadClient, uploadClient } from "../support/upload-client.ts";

const MiB = 1024 * 1024;
const ADMIN = { username: "admin", password: "correct horse battery staple" };

interface JobOut {
  id: string;
  state: string;
  bytes_relayed: number;
  progress: { done: { files: number; bytes: number }; total: { files: number; bytes: number } };
}

describe("a move with the primary in workerd", () => {
  let dir: string;
  let stack: Stack;
  let second: AgentProcess;
  /** Follower 1 restarted once it is outbound-only. */
  let outbound: Follower | undefined;
  let admin: UploadClient;
  let user: UploadClient;
  const ids = { source: "", target: "" };

  const api = (path: string, init?: RequestInit) => fetch(`${stack.primaryUrl}${path}`, init);
  const login = (username: string, password: string) => apiToken(stack.primaryUrl, username, password);
  const runJob = (created: JobOut) =>
    runScheduledWhile(
      stack.primary,
      created,
      (job) => job.state === "running",
      async () => admin.ok<JobOut>(await admin.json("GET", `/api/v1/admin/moves/${created.id}`)),
      10,
    );

  async function prepareNode(nodeId: string, name: string): Promise<string> {
    const target = await admin.json("POST", `/api/v1/admin/nodes/${nodeId}/ingress-targets`, {
      name: "default-local",
      driver: "local",
      base_path: "default",
    });
    expect((await admin.ok<{ state: string }>(target, 201)).state).toBe("applied");
    await admin.ok(await admin.json("POST", `/api/v1/admin/nodes/${nodeId}/test`));
    const policy = await admin.json("POST", "/api/v1/admin/policies", {
      name,
      driver: "remote",
      node_id: nodeId,
      chunk_size: MiB,
    });
    return (await admin.ok<{ id: string }>(policy, 201)).id;
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "flotilla-moves-workerd-"));
    stack = await startTestStackIn(dir, ADMIN);
    admin = uploadClient(api, await login(ADMIN.username, ADMIN.password));
    const { nodes } = await admin.ok<{ nodes: { id: string }[] }>(
      await admin.json("GET", "/api/v1/admin/nodes"),
    );
    ids.source = await prepareNode(nodes[0]!.id, "Follower 1");

    const node = await admin.ok<{ id: string }>(
      await admin.json("POST", "/api/v1/admin/nodes", { name: "Follower 2" }),
      201,
    );
    const { token } = await admin.ok<{ token: string }>(
      await admin.json("POST", `/api/v1/admin/nodes/${node.id}/enrollment-token`, {}),
      201,
    );
    second = await startAgentProcess({ primaryUrl: stack.primaryUrl, token, advertise: true });
    await admin.ok(await admin.json("PATCH", `/api/v1/admin/nodes/${node.id}`, { base_url: second.baseUrl }));
    await admin.ok(await admin.json("POST", `/api/v1/admin/nodes/${node.id}/test`));
    ids.target = await prepareNode(node.id, "Follower 2");

    const group = await admin.json("POST", "/api/v1/admin/policy-groups", {
      name: "Follower 1 only",
      rules: [{ policy_id: ids.source, priority: 1, min_size: 0, max_size: 0 }],
    });
    const groupId = (await admin.ok<{ id: string }>(group, 201)).id;
    const password = "another horse battery staple";
    await admin.ok(
      await admin.json("POST", "/api/v1/admin/users", {
        username: "mover",
        password,
        policy_group_id: groupId,
      }),
      201,
    );
    user = uploadClient(api, await login("mover", password));
  }, 180_000);

  afterAll(async () => {
    await second?.destroy();
    await outbound?.stop();
    await stack?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("drains Follower 1 onto Follower 2 by pull through the API and the scheduled handler", async () => {
    const stored: { id: string; sha256: string; size: number }[] = [];
    for (const size of [1000, 3 * MiB + 5]) {
      const data = bytes(size, size % 251);
      const upload = await user.ok<UploadOut>(
        await user.init({ name: `f-${size}.bin`, size, sha256: sha256(data) }),
        201,
      );
      const { file } = await relayWhole(user, upload, data);
      stored.push({ id: file.id, sha256: sha256(data), size });
    }
    const total = stored.reduce((n, s) => n + s.size, 0);
    const { nodes } = await admin.ok<{ nodes: { id: string }[] }>(
      await admin.json("GET", "/api/v1/admin/nodes"),
    );
    const request = { source: { kind: "node", node_id: nodes[0]!.id }, target_policy_id: ids.target };

    const plan = await admin.ok<{ files: number; bytes: number; path: string; space: { enough: boolean } }>(
      await admin.json("POST", "/api/v1/admin/moves/dry-run", request),
    );
    expect(plan).toMatchObject({ files: 2, bytes: total, path: "pull", space: { enough: true } });

    const created = await admin.ok<JobOut>(await admin.json("POST", "/api/v1/admin/moves", request), 201);
    const job = await runJob(created);
    expect(job).toMatchObject({
      state: "completed",
      bytes_relayed: 0,
      progress: { done: { files: 2, bytes: total } },
    });
    const listed = await admin.ok<{ jobs: JobOut[] }>(await admin.json("GET", "/api/v1/admin/moves"));
    expect(listed.jobs.map((j) => j.id)).toContain(created.id);

    for (const s of stored) {
      const meta = await user.ok<{ policy_id: string; sha256: string }>(
        await user.json("GET", `/api/v1/spaces/me/files/${s.id}`),
      );
      expect(meta).toMatchObject({ policy_id: ids.target, sha256: s.sha256 });
      const content = await user.json("GET", `/api/v1/spaces/me/files/${s.id}/content`);
      expect(content.status).toBe(200);
      expect(sha256(new Uint8Array(await content.arrayBuffer()))).toBe(s.sha256);
    }
    const onTarget = await readdir(join(second.ingressRoot, "default", "files"));
    expect(onTarget).toHaveLength(2);
  }, 180_000);

  it("drains an outbound-only follower by relay through its channel, since nothing can reach its URLs", async () => {
    const { nodes } = await admin.ok<{ nodes: { id: string }[] }>(
      await admin.json("GET", "/api/v1/admin/nodes"),
    );
    const sourceNode = nodes[0]!.id;
    // Follower 1 goes outbound-only: its base_url now leads nowhere, and restarted it opens its channel.
    await admin.ok(
      await admin.json("PATCH", `/api/v1/admin/nodes/${sourceNode}`, {
        connectivity: "outbound",
        base_url: `http://127.0.0.1:${await freePort()}`,
      }),
    );
    await stack.follower.stop();
    const paths = stackPaths(join(dir, "data"));
    outbound = await startFollower({
      host: "127.0.0.1",
      port: 0,
      dataDir: paths.follower,
      ingressRoot: paths.followerIngressRoot,
    });
    for (let i = 0; i < 600; i++) {
      const ready = (await (await fetch(`${outbound.url}/health/ready`)).json()) as Readiness;
      if (ready.channel?.connected) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const stored: { id: string; sha256: string; size: number }[] = [];
    for (const size of [700, 2 * MiB + 9]) {
      const data = bytes(size, (size + 7) % 251);
      const upload = await user.ok<UploadOut>(
        await user.init({ name: `out-${size}.bin`, size, sha256: sha256(data) }),
        201,
      );
      const { file } = await relayWhole(user, upload, data);
      stored.push({ id: file.id, sha256: sha256(data), size });
    }
    const total = stored.reduce((n, s) => n + s.size, 0);
    const request = { source: { kind: "node", node_id: sourceNode }, target_policy_id: ids.target };
    const plan = await admin.ok<{ files: number; path: string }>(
      await admin.json("POST", "/api/v1/admin/moves/dry-run", request),
    );
    expect(plan).toMatchObject({ files: 2, path: "relay" });
    const created = await admin.ok<JobOut>(await admin.json("POST", "/api/v1/admin/moves", request), 201);
    const job = await runJob(created);
    expect(job).toMatchObject({
      state: "completed",
      bytes_relayed: total,
      progress: { done: { files: 2, bytes: total } },
    });
    for (const s of stored) {
      const meta = await user.ok<{ policy_id: string }>(
        await user.json("GET", `/api/v1/spaces/me/files/${s.id}`),
      );
      expect(meta.policy_id).toBe(ids.target);
      const content = await user.json("GET", `/api/v1/spaces/me/files/${s.id}/content`);
      expect(sha256(new Uint8Array(await content.arrayBuffer()))).toBe(s.sha256);
    }
    expect(await readdir(join(second.ingressRoot, "default", "files"))).toHaveLength(4);
  }, 180_000);
});
