// The scheduled follower tasks against a REAL agent process: the re-probe records a follower that went
// down and keeps the last good probe; a target created and a disable made while it was down are
// re-pushed once it is back (after a restart that keeps its enrollment), then the re-probe succeeds.
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
import { followerNodes } from "../../../worker/db/schema.ts";
import { followerClient } from "../../../worker/followers/client.ts";
import { startAgentProcess } from "../../support/agents.ts";
import { type Primary, startPrimary } from "../../support/http-primary.ts";

describe("scheduled follower tasks with a real agent process", () => {
  let primary: Primary;
  let agent: Awaited<ReturnType<typeof startAgentProcess>>;
  let path: string;
  let nodeId: string;

  beforeAll(async () => {
    primary = await startPrimary();
    const node = await primary.ok(nodeSchema, "POST", "/api/v1/admin/nodes", { name: "Follower S" });
    nodeId = node.id;
    path = `/api/v1/admin/nodes/${node.id}`;
    const { token } = await primary.ok(enrollmentTokenSchema, "POST", `${path}/enrollment-token`, {});
    agent = await startAgentProcess({ primaryUrl: primary.origin, token });
    await primary.ok(nodeEditedSchema, "PATCH", path, { base_url: agent.baseUrl });
    await primary.ok(testResultSchema, "POST", `${path}/test`, undefined, 200);
  });
  afterAll(async () => {
    await agent?.destroy();
    await primary?.close();
  });

  it("re-probes and records a follower that went down, keeping the last good probe", async () => {
    const before = await primary.ok(nodeDetailsSchema, "GET", path);
    await agent.stop();
    await primary.runFollowerTasks();
    const after = await primary.ok(nodeDetailsSchema, "GET", path);
    expect(after.last_probe?.ok).toBe(false);
    expect(after.last_probe?.error).toMatch(/^follower_unreachable/);
    expect(Date.parse(after.last_probe!.at)).toBeGreaterThan(Date.parse(before.last_probe!.at));
    expect(after.last_good_probe).toEqual(before.last_good_probe);
    // Enrolled, enabled, state and root usable: ready, though no default ingress target exists yet.
    expect(before.last_probe?.readiness?.status).toBe("ready");
    expect(after.last_probe?.readiness).toBeNull();
  });

  it("re-pushes a pending target and a missed disable once the follower is back, then re-probes", async () => {
    const created = await primary.ok(ingressTargetSchema, "POST", `${path}/ingress-targets`, {
      name: "default-local",
      driver: "local",
      base_path: "default",
    });
    expect(created.state).toBe("pending");
    expect(created.reason).toMatch(/^follower_unreachable/);
    const disabled = await primary.ok(nodeEditedSchema, "PATCH", path, { enabled: false });
    expect(disabled.binding_sync.state).toBe("failed");

    // Same data dir and port: the agent keeps its enrollment across the restart.
    agent = await startAgentProcess({ dir: agent.dir, port: Number(new URL(agent.baseUrl).port) });
    await primary.runFollowerTasks();

    const list = await primary.ok(
      z.object({ ingress_targets: z.array(ingressTargetSchema) }),
      "GET",
      `${path}/ingress-targets`,
    );
    expect(list.ingress_targets[0]).toMatchObject({ state: "applied", applied_revision: 1, reason: null });
    const [row] = await primary.db.select().from(followerNodes).where(eq(followerNodes.id, nodeId));
    // The follower learned about the disable it missed (signed probe, bypassing the primary's own gate).
    const seen = await (await followerClient(primary.services(), row!)).capabilities();
    expect(seen.binding.enabled).toBe(false);

    await primary.ok(nodeEditedSchema, "PATCH", path, { enabled: true });
    await primary.runFollowerTasks();
    const details = await primary.ok(nodeDetailsSchema, "GET", path);
    expect(details.last_probe).toMatchObject({ ok: true, error: null });
    expect(details.last_probe?.capabilities?.default_target).toBe(created.key);
    // The re-probe also took the follower's readiness: enrolled, enabled, default target applied.
    expect(details.last_probe?.readiness?.status).toBe("ready");
  });
});
