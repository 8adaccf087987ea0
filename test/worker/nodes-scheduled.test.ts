// The scheduled follower tasks against a REAL agent process: a target created while the follower is
// down stays pending with the reason and is applied by the re-push once it is back (after a restart
// that keeps its enrollment); the re-probe records a follower that went down and keeps the last good probe.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { ingressTargetSchema } from "../../worker/followers/ingress.ts";
import { nodeSchema } from "../../worker/followers/view.ts";
import {
  enrollmentTokenSchema,
  nodeDetailsSchema,
  nodeEditedSchema,
  testResultSchema,
} from "../../worker/routes/admin/nodes.ts";
import { startAgent } from "./nodes/agent-process.ts";
import { type Primary, startPrimary } from "./nodes/harness.ts";

describe("scheduled follower tasks with a real agent process", () => {
  let primary: Primary;
  let agent: Awaited<ReturnType<typeof startAgent>>;
  let path: string;

  beforeAll(async () => {
    primary = await startPrimary();
    const node = await primary.ok(nodeSchema, "POST", "/api/v1/admin/nodes", { name: "Follower S" });
    path = `/api/v1/admin/nodes/${node.id}`;
    const { token } = await primary.ok(enrollmentTokenSchema, "POST", `${path}/enrollment-token`, {});
    agent = await startAgent({ primaryUrl: primary.origin, token });
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
  });

  it("keeps a target pushed while the follower is down pending, then applies it once it is back", async () => {
    const created = await primary.ok(ingressTargetSchema, "POST", `${path}/ingress-targets`, {
      name: "default-local",
      driver: "local",
      base_path: "default",
    });
    expect(created.state).toBe("pending");
    expect(created.reason).toMatch(/^follower_unreachable/);

    // The same data dir: the agent keeps its enrollment across the restart (a new port, though).
    agent = await startAgent({ dir: agent.dir });
    const moved = await primary.ok(nodeEditedSchema, "PATCH", path, { base_url: agent.baseUrl });
    expect(moved.binding_sync.state).toBe("pushed");
    await primary.runFollowerTasks();

    const list = await primary.ok(
      z.object({ ingress_targets: z.array(ingressTargetSchema) }),
      "GET",
      `${path}/ingress-targets`,
    );
    expect(list.ingress_targets[0]).toMatchObject({ state: "applied", applied_revision: 1, reason: null });
    const details = await primary.ok(nodeDetailsSchema, "GET", path);
    expect(details.last_probe).toMatchObject({ ok: true, error: null });
    expect(details.last_probe?.capabilities?.default_target).toBe(created.key);
  });
});
