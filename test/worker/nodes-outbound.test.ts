// An outbound-only follower through the real single-box stack (primary in workerd with its channel
// Durable Object, the local libSQL server, a real agent process). The node's base_url names a port
// nothing listens on, so any call that still dialled it would fail: Test Connection, the ingress
// target push, relay uploads of one and of several parts, whole and ranged downloads with SHA-256
// compared, and purge (object gone from the follower's disk) all go through the channel the agent
// opened. The agent reaches the primary through a TCP link the test cuts (as a NAT drops a mapping):
// an upload part in flight then fails with an error envelope and leaves nothing visible, and the part
// is taken after the agent reconnects; workerd is restarted and the agent is back for the next
// transfer. The acceptance walk (npm run acceptance, relay_stream on the local target: policies,
// group, user and team, uploads, downloads, share link, trash and restore, previews, the object on
// the follower's disk, clean up) runs against this node and passes every step. Switching the node
// back to direct closes the channel with the code that says so.
// (No network namespace here: the agent still listens on loopback, but nothing dials it.)
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { Agent as HttpAgent, request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AGENT_VERSION } from "../../agent/agent.ts";
import { StateFile } from "../../agent/state.ts";
import { stackPaths } from "../../scripts/stack/config.ts";
import { type Follower, startFollower } from "../../scripts/stack/follower.ts";
import { type Stack, startStack } from "../../scripts/stack/stack.ts";
import { MISSED_PINGS } from "../../shared/protocol/channel.ts";
import type { NodeChannelState, Readiness } from "../../shared/protocol/schemas.ts";
import { signRequest } from "../../shared/protocol/signing.ts";
import type { UploadOut } from "../../worker/api/uploads.ts";
import { expectOutboundWalk, runAcceptanceWalk } from "../support/acceptance-walk.ts";
import { freePort } from "../support/agents.ts";
import { bytes, sha256 } from "../support/bytes.ts";
import { type CuttableLink, cuttableLink } from "../support/cuttable-link.ts";
import { createPolicyUser } from "../support/groups.ts";
import { aheadLimitBytes, heldFileBytes, holdDownloads, readRest } from "../support/held-downloads.ts";
import { partOf, relayWhole, type UploadClient, uploadClient } from "../support/upload-client.ts";

const MiB = 1024 * 1024;
const PING_SECONDS = 2;
const ADMIN = { username: "admin", password: "correct horse battery staple" };

describe("an outbound-only follower (base_url unreachable) served through its channel", () => {
  let dir: string;
  let stack: Stack;
  let follower: Follower;
  let admin: UploadClient;
  let user: UploadClient;
  let nodeId = "";
  let auth: Record<string, string> = {};
  let paths: ReturnType<typeof stackPaths>;
  let link: CuttableLink;
  let policyId = "";
  const logs: string[] = [];

  const api = (path: string, init?: RequestInit) => fetch(`${stack.primaryUrl}${path}`, init);
  async function login(username: string, password: string): Promise<string> {
    const response = await api("/api/v1/auth/login", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username, password, client: "api" }),
    });
    const body = (await response.json()) as { token?: string };
    if (!body.token) throw new Error(`login failed: ${response.status} ${JSON.stringify(body)}`);
    return body.token;
  }
  async function readiness(): Promise<Readiness> {
    return (await (await fetch(`${follower.url}/health/ready`)).json()) as Readiness;
  }
  async function until(what: string, condition: () => Promise<boolean>): Promise<void> {
    for (let i = 0; i < 600; i++) {
      if (await condition()) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`${what} did not happen; agent log:\n${logs.slice(-30).join("\n")}`);
  }

  async function restartFollower(): Promise<void> {
    follower = await startFollower({
      host: "127.0.0.1",
      port: 0,
      dataDir: paths.follower,
      ingressRoot: paths.followerIngressRoot,
      onLog: (line) => logs.push(`[follower] ${line}`),
      // A short keepalive, so every test here also runs for many ping intervals.
      env: { FLOTILLA_CHANNEL_PING_SECONDS: String(PING_SECONDS) },
    });
    await until("the channel opening", async () => (await readiness()).channel?.connected === true);
  }
  async function uploaded(size: number, seed: number) {
    const data = bytes(size, seed);
    const upload = await user.ok<UploadOut>(
      await user.init({ name: `f-${seed}.bin`, size: data.length, sha256: sha256(data) }),
      201,
    );
    const done = await relayWhole(user, upload, data);
    return { data, file: done.file, content: `/api/v1/spaces/me/files/${done.file.id}/content` };
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "flotilla-outbound-"));
    const config = {
      dataDir: join(dir, "data"),
      host: "127.0.0.1",
      primaryPort: 0,
      libsqlPort: 0,
      followerPort: 0,
      adminUsername: ADMIN.username,
      adminPassword: ADMIN.password,
    };
    stack = await startStack(config, { log: (line) => logs.push(line), scheduledIntervalMs: 3_600_000 });
    admin = uploadClient(api, await login(ADMIN.username, ADMIN.password));
    const { nodes } = await admin.ok<{ nodes: { id: string }[] }>(
      await admin.json("GET", "/api/v1/admin/nodes"),
    );
    nodeId = nodes[0]!.id;
    // The node becomes outbound-only without re-enrollment; its base_url now leads nowhere.
    const edited = await admin.json("PATCH", `/api/v1/admin/nodes/${nodeId}`, {
      connectivity: "outbound",
      base_url: `http://127.0.0.1:${await freePort()}`,
    });
    expect(await admin.ok<{ connectivity: string }>(edited)).toMatchObject({ connectivity: "outbound" });
    // The agent asks how it is reached when it starts: restarted, it opens its channel.
    await stack.follower.stop();
    paths = stackPaths(config.dataDir);
    // The agent reaches the primary through a link the tests can cut, as a NAT can drop a mapping.
    link = await cuttableLink(new URL(stack.primaryUrl));
    const state = new StateFile(paths.follower);
    await state.load();
    await state.update((current) => {
      current.enrollment!.primary_url = link.url;
    });
    await restartFollower();
  }, 180_000);
  afterAll(async () => {
    await follower?.stop();
    await link?.close();
    await stack?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("passes Test Connection through the channel and says so; the node list and details show the channel", async () => {
    const result = await admin.ok<{
      path: string;
      channel: NodeChannelState;
      readiness: Readiness | null;
    }>(await admin.json("POST", `/api/v1/admin/nodes/${nodeId}/test`));
    expect(result.path).toBe("channel");
    expect(result.channel).toMatchObject({ connected: true, agent_version: AGENT_VERSION });
    expect(result.channel.connected_since).not.toBeNull();
    // The probe's frames came in just now: the agent was seen no earlier than the channel opened.
    expect(Date.parse(result.channel.last_seen!)).toBeGreaterThanOrEqual(
      Date.parse(result.channel.connected_since!),
    );
    const { nodes } = await admin.ok<{ nodes: { id: string; channel: NodeChannelState | null }[] }>(
      await admin.json("GET", "/api/v1/admin/nodes"),
    );
    expect(nodes.find((node) => node.id === nodeId)?.channel).toMatchObject({
      connected: true,
      connected_since: result.channel.connected_since,
      agent_version: AGENT_VERSION,
    });
    const details = await admin.ok<{ channel: NodeChannelState | null }>(
      await admin.json("GET", `/api/v1/admin/nodes/${nodeId}`),
    );
    expect(details.channel).toMatchObject({ connected: true, agent_version: AGENT_VERSION });
    // The follower's readiness came through the channel too, and it counts the channel.
    expect(result.readiness?.checks.find((check) => check.name === "channel_connected")?.ok).toBe(true);
  });

  it("applies an ingress target, stores relayed uploads, serves whole and ranged downloads, purges", async () => {
    const target = await admin.json("POST", `/api/v1/admin/nodes/${nodeId}/ingress-targets`, {
      name: "default-local",
      driver: "local",
      base_path: "default",
    });
    expect((await admin.ok<{ state: string }>(target, 201)).state).toBe("applied");
    const presigned = await admin.json("POST", "/api/v1/admin/policies", {
      name: "Presigned Outbound",
      driver: "remote",
      node_id: nodeId,
      upload_mode: "presigned",
    });
    expect(await admin.fail(presigned)).toMatchObject({ status: 422, code: "presign_needs_direct_node" });
    const remote = await admin.json("POST", "/api/v1/admin/policies", {
      name: "Remote Outbound",
      driver: "remote",
      node_id: nodeId,
      chunk_size: MiB,
    });
    policyId = (await admin.ok<{ id: string }>(remote, 201)).id;
    const password = "another horse battery staple";
    await createPolicyUser(admin, policyId, "Outbound", "tester", password);
    user = uploadClient(api, await login("tester", password));
    auth = { authorization: `Bearer ${await login("tester", password)}` };

    for (const [size, seed] of [
      [1000, 31],
      [3 * MiB + 999, 32],
    ] as const) {
      const data = bytes(size, seed);
      const upload = await user.ok<UploadOut>(
        await user.init({ name: `f-${seed}.bin`, size: data.length, sha256: sha256(data) }),
        201,
      );
      expect(upload).toMatchObject({ policy_id: policyId, mode: "relay_stream" });
      const done = await relayWhole(user, upload, data);
      expect(done.file).toMatchObject({ sha256: sha256(data), size });
      const onDisk = join(dir, "data", "follower-1", "managed-ingress", "default", "files", done.file.id);
      expect(sha256(new Uint8Array(await readFile(onDisk)))).toBe(sha256(data));

      const content = `/api/v1/spaces/me/files/${done.file.id}/content`;
      const whole = await api(content, { headers: auth });
      expect(whole.status).toBe(200);
      expect(sha256(new Uint8Array(await whole.arrayBuffer()))).toBe(sha256(data));
      const ranged = await api(content, { headers: { ...auth, range: "bytes=100-899" } });
      expect(ranged.status).toBe(206);
      expect(sha256(new Uint8Array(await ranged.arrayBuffer()))).toBe(sha256(data.subarray(100, 900)));

      expect(
        (await api(`/api/v1/spaces/me/files/${done.file.id}`, { method: "DELETE", headers: auth })).status,
      ).toBe(204);
      const purged = await api(`/api/v1/spaces/me/trash/files/${done.file.id}`, {
        method: "DELETE",
        headers: auth,
      });
      expect(purged.status).toBe(204);
      expect(existsSync(onDisk)).toBe(false);
    }
  }, 180_000);

  it("refuses an unsigned channel upgrade and a replayed agent request", async () => {
    const unsigned = await api("/api/v2/agent/channel");
    expect(unsigned.status).toBe(401);
    expect(((await unsigned.json()) as { error: { code: string } }).error.code).toBe("auth_missing");
    const { enrollment } = await new StateFile(paths.follower).load();
    const headers = await signRequest({
      method: "GET",
      path: "/api/v2/agent/connectivity",
      credentials: { keyId: enrollment!.key_id, secret: enrollment!.secret },
      body: null,
    });
    const first = await api("/api/v2/agent/connectivity", { headers });
    expect(await first.json()).toMatchObject({ connectivity: "outbound" });
    const again = await api("/api/v2/agent/connectivity", { headers });
    expect(again.status).toBe(401);
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe("auth_replayed_nonce");
  });

  it("fails a download whose channel drops mid-body instead of ending it short, and serves it after reconnecting", async () => {
    const large = await uploaded(16 * MiB, 51);
    const response = await api(large.content, { headers: auth });
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    let received = (await reader.read()).value?.byteLength ?? 0;
    await follower.stop();
    const outcome = await (async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return "ended";
        received += value.byteLength;
      }
    })().catch(() => "failed");
    expect(outcome).toBe("failed");
    expect(received).toBeLessThan(large.data.length);
    const down = await api(large.content, { headers: auth });
    expect(down.status).toBe(502);
    expect(((await down.json()) as { error: { code: string } }).error.code).toBe("channel_not_connected");
    const { channel } = await admin.ok<{ channel: NodeChannelState }>(
      await admin.json("GET", `/api/v1/admin/nodes/${nodeId}`),
    );
    expect(channel).toMatchObject({ connected: false, connected_since: null });
    expect(channel.last_seen).not.toBeNull();
    expect(channel.last_error).toMatch(/closed/);
    await restartFollower();
    const again = await api(large.content, { headers: auth });
    expect(sha256(new Uint8Array(await again.arrayBuffer()))).toBe(sha256(large.data));
  }, 180_000);

  it("fails an upload part whose channel is cut mid-body with an error envelope, shows nothing of it, and takes the part again after the agent reconnects", async () => {
    // Parts larger than the primary's own hold-back (it hashes a part in 1 MiB steps and keeps the
    // newest step until the next), so bytes are crossing the channel when it is cut.
    await admin.ok(await admin.json("PATCH", `/api/v1/admin/policies/${policyId}`, { chunk_size: 8 * MiB }));
    const data = bytes(8 * MiB + 5, 61);
    const upload = await user.ok<UploadOut>(
      await user.init({ name: "cut.bin", size: data.length, sha256: sha256(data) }),
      201,
    );
    const part = partOf(upload, data, 1);
    const half = part.length / 2;
    let feed!: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        feed = controller;
      },
    });
    const received = async () => (await readiness()).channel?.bytes_in ?? 0;
    const before = await received();
    const answer = user.putPart(upload.id, 1, body, { "content-length": String(part.length) });
    feed.enqueue(part.slice(0, half));
    await until(
      "a quarter of the part reaching the agent",
      async () => (await received()) - before >= half / 2,
    );
    link.cut();
    const refused = await user.fail(await answer);
    feed.error(new Error("the test stops sending"));
    expect(refused.status).toBe(502);
    expect(refused.code).toBe("channel_not_connected");
    // Nothing of the part counts: the session does not list it, and no file exists.
    const session = await user.ok<UploadOut>(await user.get(upload.id));
    expect(session).toMatchObject({ parts_received: [], file_id: null, failure: null });

    await until(
      "the channel reopening after the cut",
      async () => (await readiness()).channel?.connected === true,
    );
    for (let n = 1; n <= upload.part_count; n++)
      await user.ok(await user.putPart(upload.id, n, partOf(upload, data, n)));
    const done = await user.ok<{ file: { id: string; sha256: string } }>(await user.complete(upload.id));
    expect(done.file.sha256).toBe(sha256(data));
    const whole = await api(`/api/v1/spaces/me/files/${done.file.id}/content`, { headers: auth });
    expect(sha256(new Uint8Array(await whole.arrayBuffer()))).toBe(sha256(data));
    await admin.ok(await admin.json("PATCH", `/api/v1/admin/policies/${policyId}`, { chunk_size: MiB }));
  }, 180_000);

  it("holds a download whose reader stops to the channel's window: the follower sends no more ahead than the window and the sockets' buffers, not the file", async () => {
    const large = await uploaded(heldFileBytes(), 81);
    const sent = async () => (await readiness()).channel?.bytes_out ?? 0;
    const before = await sent();
    const response = await api(large.content, { headers: auth });
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    const digest = createHash("sha256");
    let read = 0;
    while (read < MiB) {
      const { value } = await reader.read();
      digest.update(value!);
      read += value!.byteLength;
    }
    // The reader pauses; wait until the follower stops sending (two equal readings in a row).
    let last = -1;
    for (let now = await sent(); now !== last; now = await sent()) {
      last = now;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const ahead = last - before - read;
    // One stream window in the primary's object, plus what the sockets after it and the runtimes
    // hold; without the window the follower would have sent the whole file.
    expect(ahead).toBeLessThan(aheadLimitBytes());
    expect(large.data.length - read).toBeGreaterThan(aheadLimitBytes());
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      digest.update(value);
    }
    expect(digest.digest("hex")).toBe(sha256(large.data));
  }, 180_000);

  it("keeps Test Connection answering while 16 paused downloads hold every transfer slot, and serves a 17th once one finishes", async () => {
    // Large enough that a paused reader holds its stream open (more than the buffers between hold).
    const file = await uploaded(heldFileBytes() + 1, 82);
    const held = await holdDownloads(16, () => api(file.content, { headers: auth }));
    const waiting = api(file.content, { headers: auth });
    let answered = false;
    void waiting.then(() => {
      answered = true;
    });
    const tested = await admin.ok<{ path: string }>(
      await admin.json("POST", `/api/v1/admin/nodes/${nodeId}/test`),
    );
    expect(tested.path).toBe("channel");
    // The 17th transfer waits for a slot; the probe went past it.
    expect(answered).toBe(false);
    expect(await readRest(held[0]!)).toBe(sha256(file.data));
    const seventeenth = await waiting;
    expect(sha256(new Uint8Array(await seventeenth.arrayBuffer()))).toBe(sha256(file.data));
    expect(await Promise.all(held.slice(1).map(readRest))).toEqual(
      Array.from({ length: 15 }, () => sha256(file.data)),
    );
  }, 180_000);

  it("keeps a channel whose downloads stay paused for many ping intervals, and they then finish whole", async () => {
    const file = await uploaded(heldFileBytes() + 3, 83);
    const before = (await readiness()).channel!;
    const held = await holdDownloads(16, () => api(file.content, { headers: auth }));
    // Every stream's window is spent and nothing moves on the channel but keepalives.
    await new Promise((resolve) => setTimeout(resolve, (2 * MISSED_PINGS + 1) * PING_SECONDS * 1000));
    const during = (await readiness()).channel!;
    expect(during).toMatchObject({ connected: true, reconnects: before.reconnects });
    expect(during.connected_since).toBe(before.connected_since);
    expect(await Promise.all(held.map(readRest))).toEqual(held.map(() => sha256(file.data)));
    expect((await readiness()).channel!.reconnects).toBe(before.reconnects);
  }, 180_000);

  it("finds a half-open channel at both ends within a few keepalive intervals: its download fails, the node shows why, and the agent is back once the network is", async () => {
    const file = await uploaded(16 * MiB, 84);
    const response = await api(file.content, { headers: auth });
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    await reader.read();
    const node = async () =>
      (
        await admin.ok<{ channel: NodeChannelState }>(
          await admin.json("GET", `/api/v1/admin/nodes/${nodeId}`),
        )
      ).channel;
    const silencedAt = Date.now();
    link.silence();
    // Healed whatever fails here: a silenced link left so would fail every later test too.
    try {
      const outcome = await (async () => {
        for (;;) if ((await reader.read()).done) return "ended";
      })().catch(() => "failed");
      expect(outcome).toBe("failed");
      await until("the primary finding the channel silent", async () => (await node()).connected === false);
      expect((await node()).last_error).toMatch(/went silent/);
      await until(
        "the agent finding the channel half-open",
        async () => (await readiness()).channel?.connected === false,
      );
      expect((await readiness()).channel?.last_error).toMatch(/half-open/);
      // Both ends gave up on their own keepalive: neither socket was ever closed by the network.
      const noticed = (Date.now() - silencedAt) / 1000;
      expect(noticed).toBeLessThan(60);
      const down = await api(file.content, { headers: auth });
      expect(down.status).toBe(502);
      expect(((await down.json()) as { error: { code: string } }).error.code).toBe("channel_not_connected");
    } finally {
      link.heal();
    }
    await until(
      "the channel reopening after the network is back",
      async () => (await node()).connected === true,
    );
    const whole = await api(file.content, { headers: auth });
    expect(sha256(new Uint8Array(await whole.arrayBuffer()))).toBe(sha256(file.data));
  }, 180_000);

  it("reconnects after workerd restarts, and the next transfer works", async () => {
    const since = (await readiness()).channel?.connected_since;
    await stack.primary.restart();
    await until("the channel reopening after the restart", async () => {
      const channel = (await readiness()).channel;
      return channel?.connected === true && channel.connected_since !== since;
    });
    const after = await uploaded(MiB + 7, 71);
    expect(after.file.sha256).toBe(sha256(after.data));
    const whole = await api(after.content, { headers: auth });
    expect(sha256(new Uint8Array(await whole.arrayBuffer()))).toBe(sha256(after.data));
  }, 180_000);

  it("carries 20 concurrent downloads and 20 concurrent uploads over one channel, each SHA-256 verified", async () => {
    const uploads = await Promise.all(Array.from({ length: 20 }, (_, n) => uploaded(200_000 + n, 100 + n)));
    for (const { data, file } of uploads) expect(file.sha256).toBe(sha256(data));
    const big = await uploaded(2 * MiB + 3, 41);
    const downloads = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const response = await api(big.content, { headers: auth });
        return sha256(new Uint8Array(await response.arrayBuffer()));
      }),
    );
    expect(downloads).toEqual(Array.from({ length: 20 }, () => sha256(big.data)));
  }, 180_000);

  it("serves channel downloads and API calls one after another on one kept-alive connection, each whole", async () => {
    const agent = new HttpAgent({ keepAlive: true, maxSockets: 1 });
    const target = new URL(stack.primaryUrl);
    const call = (path: string) =>
      new Promise<{ status: number; sha256: string; reused: boolean }>((resolve, reject) => {
        const request = httpRequest(
          { host: target.hostname, port: target.port, path, agent, headers: auth },
          (response) => {
            const digest = createHash("sha256");
            response.on("data", (chunk: Buffer) => digest.update(chunk));
            response.on("end", () =>
              resolve({
                status: response.statusCode ?? 0,
                sha256: digest.digest("hex"),
                reused: request.reusedSocket,
              }),
            );
            response.on("error", reject);
          },
        );
        request.on("error", reject);
        request.end();
      });
    try {
      const file = await uploaded(4 * MiB + 3, 91);
      const seen: { status: number; sha256: string; reused: boolean }[] = [];
      for (let n = 0; n < 15; n++) {
        seen.push(await call(file.content));
        seen.push(await call("/api/v1/auth/me"));
      }
      expect(seen.filter((_answer, n) => n % 2 === 0).map((answer) => answer.sha256)).toEqual(
        Array.from({ length: 15 }, () => sha256(file.data)),
      );
      expect(seen.map((answer) => answer.status)).toEqual(Array.from({ length: 30 }, () => 200));
      // One connection carried them all: the client never had to open another.
      expect(seen.slice(1).every((answer) => answer.reused)).toBe(true);
    } finally {
      agent.destroy();
    }
  }, 180_000);

  it("walks the tutorial's checklist (npm run acceptance, relay_stream on the local target) on the outbound-only node, every step ok", async () => {
    const run = await runAcceptanceWalk({
      FLOTILLA_URL: stack.primaryUrl,
      FLOTILLA_ADMIN_USERNAME: ADMIN.username,
      FLOTILLA_ADMIN_PASSWORD: ADMIN.password,
      FLOTILLA_ACCEPTANCE_MODES: "relay_stream",
      FLOTILLA_ACCEPTANCE_TARGETS: "local",
      FLOTILLA_FOLLOWER_INGRESS_DIR: paths.followerIngressRoot,
    });
    expectOutboundWalk(run);
  }, 300_000);

  it("closes the channel when the node turns direct, and the agent stops opening it", async () => {
    await admin.ok(await admin.json("PATCH", `/api/v1/admin/nodes/${nodeId}`, { connectivity: "direct" }));
    await until("the agent learning it is direct", async () => {
      const channel = (await readiness()).channel;
      return channel?.connectivity === "direct" && !channel.connected;
    });
  });
});
