// An outbound-only follower behind NAT, for real: the agent runs in a Linux network namespace of its
// own (test/support/netns.ts) and listens only on that namespace's loopback, so no connection from
// the primary's side can reach it, and any code path that still dialled its base_url would fail. It
// reaches the primary (workerd under the single-box stack) out through a veth pair. Shown here: that
// nothing gets in, Test Connection and the tutorial's checklist (npm run acceptance, relay_stream on
// the local target: uploads small and multi-part, whole and ranged downloads, share link, trash and
// restore, previews, purge) over the channel alone, and the wire going away without a word at both
// ends: each end finds the channel half-open on its own keepalive, the transfer in flight fails with a
// coded error instead of hanging, and the agent is back once the wire is.
// Where namespaces are unavailable (not root, not Linux) the same steps run with the agent on
// loopback behind an unreachable base_url, and the test names say so.
import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StateFile } from "../../agent/state.ts";
import { stackPaths } from "../../scripts/stack/config.ts";
import { type Follower, startFollower } from "../../scripts/stack/follower.ts";
import type { Stack } from "../../scripts/stack/stack.ts";
import { MISSED_PINGS } from "../../shared/protocol/channel.ts";
import type { NodeChannelState, Readiness } from "../../shared/protocol/schemas.ts";
import type { UploadOut } from "../../worker/api/uploads.ts";
import { expectOutboundWalk, runAcceptanceWalk } from "../support/acceptance-walk.ts";
import { freePort } from "../support/agents.ts";
import { bytes, sha256 } from "../support/bytes.ts";
import { type CuttableLink, cuttableLink } from "../support/cuttable-link.ts";
import { createPolicyUser } from "../support/groups.ts";
import { heldFileBytes, holdDownloads, readRest } from "../support/held-downloads.ts";
import {
  type AgentNamespace,
  agentNamespace,
  bridgePath,
  getOverSocket,
  namespacesAvailable,
} from "../support/netns.ts";
import { apiToken, startTestStackIn } from "../support/stack.ts";
import { relayWhole, type UploadClient, uploadClient } from "../support/upload-client.ts";

const MiB = 1024 * 1024;
const ADMIN = { username: "admin", password: "correct horse battery staple" };
const PING_SECONDS = 2;
const isolated = await namespacesAvailable();
const where = isolated
  ? "in a network namespace of its own (no route in)"
  : "on loopback behind an unreachable base_url (network namespaces unavailable here)";

describe(`a follower behind NAT, its agent ${where}, served through the channel it opens`, () => {
  let dir: string;
  let stack: Stack;
  let follower: Follower;
  let ns: AgentNamespace | undefined;
  let link: CuttableLink;
  let admin: UploadClient;
  let nodeId = "";
  let agentPort = 0;
  let paths: ReturnType<typeof stackPaths>;
  const logs: string[] = [];
  const api = (path: string, init?: RequestInit) => fetch(`${stack.primaryUrl}${path}`, init);

  const login = (username: string, password: string) => apiToken(stack.primaryUrl, username, password);
  async function readiness(): Promise<Readiness> {
    if (!ns) return (await (await fetch(`${follower.url}/health/ready`)).json()) as Readiness;
    return (await getOverSocket(bridgePath(dir), "/health/ready")).body as Readiness;
  }
  async function node(): Promise<NodeChannelState> {
    const details = await admin.ok<{ channel: NodeChannelState }>(
      await admin.json("GET", `/api/v1/admin/nodes/${nodeId}`),
    );
    return details.channel;
  }
  async function until(what: string, condition: () => Promise<boolean>): Promise<void> {
    for (let i = 0; i < 900; i++) {
      if (await condition().catch(() => false)) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`${what} did not happen; log:\n${logs.slice(-30).join("\n")}`);
  }

  let made: { client: UploadClient; auth: Record<string, string>; policyId: string } | undefined;
  /** A relay_stream policy on the node's default target, for a user of its own (made once). */
  async function natted(): Promise<NonNullable<typeof made>> {
    if (made) return made;
    const target = await admin.json("POST", `/api/v1/admin/nodes/${nodeId}/ingress-targets`, {
      name: "wire-local",
      driver: "local",
      base_path: "wire",
      is_default: true,
    });
    expect((await admin.ok<{ state: string }>(target, 201)).state).toBe("applied");
    const policy = await admin.json("POST", "/api/v1/admin/policies", {
      name: "Behind NAT",
      driver: "remote",
      node_id: nodeId,
      chunk_size: 4 * MiB,
    });
    const policyId = (await admin.ok<{ id: string }>(policy, 201)).id;
    const password = "behind nat horse battery";
    await createPolicyUser(admin, policyId, "Behind NAT", "natted", password);
    const token = await login("natted", password);
    made = { client: uploadClient(api, token), auth: { authorization: `Bearer ${token}` }, policyId };
    return made;
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "flotilla-netns-"));
    stack = await startTestStackIn(dir, ADMIN, (line) => logs.push(line));
    paths = stackPaths(join(dir, "data"));
    admin = uploadClient(api, await login(ADMIN.username, ADMIN.password));
    const { nodes } = await admin.ok<{ nodes: { id: string }[] }>(
      await admin.json("GET", "/api/v1/admin/nodes"),
    );
    nodeId = nodes[0]!.id;
    await stack.follower.stop();
    ns = isolated ? await agentNamespace() : undefined;
    agentPort = await freePort();
    // The address a primary would dial: inside the namespace nothing listens on it.
    const baseUrl = ns ? `http://${ns.agentAddress}:${agentPort}` : `http://127.0.0.1:${await freePort()}`;
    const edited = await admin.json("PATCH", `/api/v1/admin/nodes/${nodeId}`, {
      connectivity: "outbound",
      base_url: baseUrl,
    });
    expect(await admin.ok<{ connectivity: string }>(edited)).toMatchObject({ connectivity: "outbound" });
    // The way out: the primary as the namespace sees it, on this side of the wire.
    link = await cuttableLink(new URL(stack.primaryUrl), ns?.hostAddress);
    const state = new StateFile(paths.follower);
    await state.load();
    await state.update((current) => {
      current.enrollment!.primary_url = link.url;
    });
    follower = await startFollower({
      host: "127.0.0.1",
      port: agentPort,
      dataDir: paths.follower,
      ingressRoot: paths.followerIngressRoot,
      onLog: (line) => logs.push(`[follower] ${line}`),
      env: { FLOTILLA_CHANNEL_PING_SECONDS: String(PING_SECONDS), FLOTILLA_AGENT_BASE_URL: baseUrl },
      ...(ns ? { wrap: ns.wrap } : {}),
    });
    if (ns) await ns.bridge(agentPort, bridgePath(dir));
    await until("the channel opening", async () => (await readiness()).channel?.connected === true);
  }, 180_000);
  afterAll(async () => {
    await follower?.stop();
    await ns?.close();
    await link?.close();
    await stack?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("cannot be reached from outside: a connection to its base_url is refused while the agent is up", async () => {
    const { base_url } = await admin.ok<{ base_url: string }>(
      await admin.json("GET", `/api/v1/admin/nodes/${nodeId}`),
    );
    const target = new URL(base_url);
    const outcome = await new Promise<string>((resolve) => {
      const socket = connect({ host: target.hostname, port: Number(target.port), timeout: 5000 });
      socket.once("connect", () => {
        socket.destroy();
        resolve("connected");
      });
      socket.once("timeout", () => {
        socket.destroy();
        resolve("timeout");
      });
      socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? "error"));
    });
    expect(outcome).toBe("ECONNREFUSED");
    expect((await readiness()).status).toBe("ready");
    const tested = await admin.ok<{ path: string; readiness: Readiness | null }>(
      await admin.json("POST", `/api/v1/admin/nodes/${nodeId}/test`),
    );
    expect(tested.path).toBe("channel");
    expect(tested.readiness?.status).toBe("ready");
  });

  it("walks the tutorial's checklist (npm run acceptance, relay_stream on the local target) through the channel alone, every step ok", async () => {
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

  it("keeps the channel while 16 downloads stay paused for many keepalive intervals, and they then finish whole", async () => {
    const user = await natted();
    const data = bytes(heldFileBytes() + 5, 9);
    const upload = await user.client.ok<UploadOut>(
      await user.client.init({ name: "paused.bin", size: data.length, sha256: sha256(data) }),
      201,
    );
    const { file } = await relayWhole(user.client, upload, data);
    const content = `/api/v1/spaces/me/files/${file.id}/content`;
    const before = (await readiness()).channel!;
    const held = await holdDownloads(16, () => api(content, { headers: user.auth }));
    await new Promise((resolve) => setTimeout(resolve, (2 * MISSED_PINGS + 1) * PING_SECONDS * 1000));
    expect((await readiness()).channel).toMatchObject({ connected: true, reconnects: before.reconnects });
    expect((await node()).connected).toBe(true);
    expect(await Promise.all(held.map(readRest))).toEqual(held.map(() => sha256(data)));
    expect((await readiness()).channel!.reconnects).toBe(before.reconnects);
  }, 180_000);

  it("finds the wire gone without a word at both ends: the download in flight fails with a coded error, the node shows why, and the agent is back once the wire is", async () => {
    const { client: user, auth, policyId } = await natted();
    const data = bytes(24 * MiB + 7, 7);
    const upload = await user.ok<UploadOut>(
      await user.init({ name: "wire.bin", size: data.length, sha256: sha256(data) }),
      201,
    );
    expect(upload).toMatchObject({ policy_id: policyId, mode: "relay_stream" });
    const { file } = await relayWhole(user, upload, data);
    const content = `/api/v1/spaces/me/files/${file.id}/content`;

    const response = await api(content, { headers: auth });
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    const digest = createHash("sha256");
    digest.update((await reader.read()).value!);
    const before = (await readiness()).channel!;
    if (ns) await ns.down();
    else link.silence();
    // Put back whatever fails here: a wire left down would fail every later test too.
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
      const refused = await api(content, { headers: auth });
      expect(refused.status).toBe(502);
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe(
        "channel_not_connected",
      );
    } finally {
      if (ns) await ns.up();
      else link.heal();
    }
    await until("the channel reopening once the wire is back", async () => (await node()).connected === true);
    expect((await readiness()).channel!.reconnects).toBe(before.reconnects + 1);
    const whole = await api(content, { headers: auth });
    expect(whole.status).toBe(200);
    expect(sha256(new Uint8Array(await whole.arrayBuffer()))).toBe(sha256(data));
  }, 240_000);
});
