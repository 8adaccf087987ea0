// Follower nodes against a REAL agent process over HTTP (spawned with the pinned Node, port 0):
// enrollment through the one-time token, Test Connection, ingress targets (local and s3 on s3rver)
// reaching applied or failed, a remote policy with its connection test, and a follower that is down.
import { createHash } from "node:crypto";
import { readdir } from "node:fs/promises";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { ingressTargetSchema } from "../../../worker/api/ingress-targets.ts";
import {
  enrollmentTokenSchema,
  nodeDetailsSchema,
  nodeEditedSchema,
  nodeSchema,
  testResultSchema,
} from "../../../worker/api/nodes.ts";
import { policySchema, policyTestSchema } from "../../../worker/api/policies.ts";
import { followerNodes } from "../../../worker/db/schema.ts";
import { followerClient } from "../../../worker/followers/client.ts";
import { type AgentProcess, startAgentProcess } from "../../support/agents.ts";
import { type Primary, startPrimary } from "../../support/http-primary.ts";
import { S3RVER_WIRE_KEY, startS3rver } from "../../support/s3rver.ts";

const targetList = z.object({ ingress_targets: z.array(ingressTargetSchema) });

describe("follower node with a real agent process", () => {
  let primary: Primary;
  let agent: AgentProcess & { destroy(): Promise<void> };
  let s3: Awaited<ReturnType<typeof startS3rver>>;
  let nodeId: string;
  let token: string;
  let remotePolicyId = "";
  const node = () => `/api/v1/admin/nodes/${nodeId}`;
  const targets = () => `${node()}/ingress-targets`;

  beforeAll(async () => {
    primary = await startPrimary();
    s3 = await startS3rver(["ingress"]);
    nodeId = (await primary.ok(nodeSchema, "POST", "/api/v1/admin/nodes", { name: "Follower A" })).id;
    token = (await primary.ok(enrollmentTokenSchema, "POST", `${node()}/enrollment-token`, {})).token;
    agent = await startAgentProcess({ primaryUrl: primary.origin, token });
  });
  afterAll(async () => {
    await agent?.destroy();
    await s3?.stop();
    await primary?.close();
  });

  it("enrolls the agent with the one-time token and stores its secret encrypted", async () => {
    const details = await primary.ok(nodeDetailsSchema, "GET", node());
    expect(details.enrollment.status).toBe("completed");
    expect(details.key_id).toMatch(/^fk_/);
    const [row] = await primary.db.select().from(followerNodes).where(eq(followerNodes.id, nodeId));
    expect(row!.secretEnc).toMatch(/^v1\./);
    expect(row!.enrollmentTokenHash).toBe(createHash("sha256").update(token).digest("hex"));
    const raw = await (await primary.call("GET", node())).text();
    expect(raw).not.toMatch(/secret_enc|fns_/);
  });

  it("refuses to hand out the credentials a second time for the same token", async () => {
    const replay = await primary.fail(
      "POST",
      "/api/v1/enrollment/redeem",
      { token, agent_version: "0.0.0", protocol: "v2" },
      { token: null },
    );
    expect(replay).toMatchObject({ status: 410, code: "enrollment_token_used" });
  });

  it("passes Test Connection once base_url points at the agent", async () => {
    const edited = await primary.ok(nodeEditedSchema, "PATCH", node(), { base_url: agent.baseUrl });
    expect(edited.base_url).toBe(agent.baseUrl);
    const tested = await primary.ok(testResultSchema, "POST", `${node()}/test`, undefined, 200);
    expect(tested.protocol_version).toBe("v2");
    expect(tested.server_version.length).toBeGreaterThan(0);
    // This agent was started without its own base_url, so it cannot offer browser URLs.
    expect(tested.capabilities.features.browser_presigned_cors).toBe(false);
    expect(tested.node.last_good_probe?.capabilities.protocol_version).toBe("v2");
    expect(tested.node.last_probe).toMatchObject({ ok: true, error: null });
    // No default ingress target yet: the follower is ready (tutorial §1) and says the target is missing.
    expect(tested.readiness?.status).toBe("ready");
    expect(tested.readiness?.checks.every((c) => c.ok)).toBe(true);
    expect(tested.readiness?.default_target?.ok).toBe(false);
    // Stored with the probe, so the maintenance view shows it after a reload.
    expect(tested.node.last_probe?.readiness).toEqual(tested.readiness);
  });

  it("creates a local ingress target that the agent applies under its ingress root", async () => {
    const created = await primary.ok(ingressTargetSchema, "POST", targets(), {
      name: "default-local",
      driver: "local",
      base_path: "default",
    });
    expect(created).toMatchObject({ is_default: true, state: "applied", revision: 1, applied_revision: 1 });
    expect(await readdir(agent.ingressRoot)).toContain("default");
    const tested = await primary.ok(testResultSchema, "POST", `${node()}/test`, undefined, 200);
    expect(tested.readiness?.status).toBe("ready");
    expect(tested.capabilities.default_target).toBe(created.key);
    const details = await primary.ok(nodeSchema, "GET", node());
    expect(details.last_probe?.readiness?.status).toBe("ready");
    expect(details.last_probe?.readiness?.checks.every((c) => c.ok)).toBe(true);
    expect(details.last_probe?.readiness?.default_target?.ok).toBe(true);
  });

  it("refuses a local base path that escapes the ingress root and changes nothing", async () => {
    for (const base_path of ["../outside", "/etc", "a/../../b", "a\\..\\b", "%2e%2e/x"]) {
      const refused = await primary.fail("POST", targets(), { name: "bad", driver: "local", base_path });
      expect(refused, base_path).toMatchObject({ status: 400, code: "ingress_path_invalid" });
    }
    expect((await primary.ok(targetList, "GET", targets())).ingress_targets).toHaveLength(1);
  });

  it("applies an s3 ingress target on s3rver", async () => {
    const created = await primary.ok(ingressTargetSchema, "POST", targets(), {
      name: "s3-good",
      driver: "s3",
      base_path: "agent-objects",
      s3: {
        endpoint: s3.endpoint,
        bucket: "ingress",
        path_style: true,
        ...S3RVER_WIRE_KEY,
      },
    });
    expect(created).toMatchObject({ state: "applied", is_default: false, reason: null });
    expect(created.s3).toMatchObject({ bucket: "ingress", has_credentials: true });
  });

  it("marks an s3 ingress target with wrong credentials failed, with the reason", async () => {
    const response = await primary.call("POST", targets(), {
      name: "s3-bad",
      driver: "s3",
      s3: {
        endpoint: s3.endpoint,
        bucket: "ingress",
        access_key_id: "NOT-A-KEY",
        secret_access_key: "wrong-secret",
      },
    });
    const text = await response.text();
    expect(response.status).toBe(201);
    expect(text).not.toContain("wrong-secret");
    const created = ingressTargetSchema.parse(JSON.parse(text));
    expect(created.state).toBe("failed");
    expect(created.reason).toMatch(/S3 refused .*(403|InvalidAccessKeyId)/);
  });

  it("re-applies a target on demand and keeps exactly one default", async () => {
    const list = (await primary.ok(targetList, "GET", targets())).ingress_targets;
    const good = list.find((t) => t.name === "s3-good")!;
    const local = list.find((t) => t.name === "default-local")!;
    const reapplied = await primary.ok(
      ingressTargetSchema,
      "POST",
      `${targets()}/${good.id}/apply`,
      undefined,
      200,
    );
    expect(reapplied.state).toBe("applied");
    const refused = await primary.fail("DELETE", `${targets()}/${local.id}`);
    expect(refused).toMatchObject({ status: 409, code: "ingress_default_in_use" });
    const promoted = await primary.ok(ingressTargetSchema, "PATCH", `${targets()}/${good.id}`, {
      is_default: true,
    });
    expect(promoted).toMatchObject({ is_default: true, revision: 2, state: "applied" });
    const after = (await primary.ok(targetList, "GET", targets())).ingress_targets;
    expect(after.filter((t) => t.is_default).map((t) => t.name)).toEqual(["s3-good"]);
    expect(after.find((t) => t.name === "default-local")).toMatchObject({ revision: 2, state: "applied" });
    // Back to the local default for the policy test below.
    const back = await primary.ok(ingressTargetSchema, "PATCH", `${targets()}/${local.id}`, {
      is_default: true,
    });
    expect(back.state).toBe("applied");
  });

  it("creates a remote policy on the tested node whose connection test writes, reads and deletes on the agent", async () => {
    const policy = await primary.ok(policySchema, "POST", "/api/v1/admin/policies", {
      name: "Remote Follower A",
      driver: "remote",
      node_id: nodeId,
      key_prefix: "remote-a",
    });
    remotePolicyId = policy.id;
    expect(policy).toMatchObject({
      driver: "remote",
      node_id: nodeId,
      upload_mode: "relay_stream",
      max_file_size: 0,
    });
    const tested = await primary.ok(
      policyTestSchema,
      "POST",
      `/api/v1/admin/policies/${policy.id}/test`,
      undefined,
      200,
    );
    expect(tested, JSON.stringify(tested)).toMatchObject({ ok: true, driver: "remote" });
    expect(tested.steps.map((s) => s.step)).toEqual(["write", "read", "delete"]);
    const local = (await primary.ok(targetList, "GET", targets())).ingress_targets.find((t) => t.is_default)!;
    expect(tested.location).toBe(local.key);
  });

  it("refuses a presigned remote policy because the last probe lacks browser_presigned_cors", async () => {
    const refused = await primary.fail("POST", "/api/v1/admin/policies", {
      name: "Remote presigned",
      driver: "remote",
      node_id: nodeId,
      upload_mode: "presigned",
    });
    expect(refused).toMatchObject({ status: 412, code: "node_incompatible" });
    expect(JSON.stringify(refused.details)).toContain("browser_presigned_cors");
  });

  it("refuses to delete the node while a policy uses it", async () => {
    expect(await primary.fail("DELETE", node())).toMatchObject({ status: 409, code: "node_in_use" });
  });

  it("pushes a disable to the agent and refuses Test Connection while disabled", async () => {
    const disabled = await primary.ok(nodeEditedSchema, "PATCH", node(), { enabled: false });
    expect(disabled.binding_sync).toEqual({ state: "pushed", reason: null });
    expect(await primary.fail("POST", `${node()}/test`)).toMatchObject({
      status: 412,
      code: "node_disabled",
    });
    const enabled = await primary.ok(nodeEditedSchema, "PATCH", node(), { enabled: true });
    expect(enabled.binding_sync.state).toBe("pushed");
  });

  it("skips the remote rule of a disabled node during policy resolution", async () => {
    const fallback = await primary.ok(policySchema, "POST", "/api/v1/admin/policies", {
      name: "Primary fallback",
      driver: "primary",
    });
    const group = await primary.ok(z.object({ id: z.string() }), "POST", "/api/v1/admin/policy-groups", {
      name: "Remote Test Group",
      rules: [
        { policy_id: remotePolicyId, priority: 1 },
        { policy_id: fallback.id, priority: 2 },
      ],
    });
    const users = await primary.ok(
      z.object({ users: z.array(z.object({ id: z.string(), username: z.string() })) }),
      "GET",
      "/api/v1/admin/users",
    );
    const user = users.users.find((u) => u.username === "plainuser")!;
    await primary.ok(z.unknown(), "PATCH", `/api/v1/admin/users/${user.id}`, { policy_group_id: group.id });
    const resolution = z.object({
      policy: z.object({ id: z.string() }),
      skipped: z.array(z.object({ reason: z.string() })),
    });
    const resolve = () =>
      primary.ok(
        resolution,
        "GET",
        `/api/v1/admin/policy-resolution?space=personal&user_id=${user.id}&size=1000`,
      );
    expect((await resolve()).policy.id).toBe(remotePolicyId);
    await primary.ok(nodeEditedSchema, "PATCH", node(), { enabled: false });
    const skipped = await resolve();
    expect(skipped.policy.id).toBe(fallback.id);
    expect(skipped.skipped.map((s) => s.reason)).toEqual(["node_disabled"]);
    await primary.ok(nodeEditedSchema, "PATCH", node(), { enabled: true });
    expect((await resolve()).policy.id).toBe(remotePolicyId);
    // The node's details name the groups routing to its policies and whether they are enabled (§11).
    const groupsOf = async () =>
      (await primary.ok(nodeDetailsSchema, "GET", node())).policies.find((p) => p.id === remotePolicyId)
        ?.groups;
    expect(await groupsOf()).toEqual([
      { id: group.id, name: "Remote Test Group", enabled: true, is_default: false },
    ]);
    await primary.ok(z.unknown(), "PATCH", `/api/v1/admin/policy-groups/${group.id}`, { enabled: false });
    expect((await groupsOf())?.[0]?.enabled).toBe(false);
    await primary.ok(z.unknown(), "PATCH", `/api/v1/admin/policy-groups/${group.id}`, { enabled: true });
  });

  it("repairs a follower binding that drifted from the node record during Test Connection", async () => {
    const [row] = await primary.db.select().from(followerNodes).where(eq(followerNodes.id, nodeId));
    const client = await followerClient(primary.services(), row!);
    await client.pushBinding({ name: "drifted", enabled: false, revision: Date.now() });
    expect((await client.capabilities()).binding).toEqual({ name: "drifted", enabled: false });
    await primary.ok(testResultSchema, "POST", `${node()}/test`, undefined, 200);
    expect((await client.capabilities()).binding).toEqual({ name: "Follower A", enabled: true });
  });

  it("records a follower that is down during Test Connection and keeps the last good probe", async () => {
    const before = await primary.ok(nodeDetailsSchema, "GET", node());
    await agent.stop();
    expect(await primary.fail("POST", `${node()}/test`)).toMatchObject({
      status: 502,
      code: "follower_unreachable",
    });
    const after = await primary.ok(nodeDetailsSchema, "GET", node());
    expect(after.last_probe?.ok).toBe(false);
    expect(after.last_probe?.error).toMatch(/^follower_unreachable/);
    expect(after.last_good_probe).toEqual(before.last_good_probe);
    expect(after.recent_events[0]).toMatchObject({ level: "error", kind: "probe" });
  });
});
