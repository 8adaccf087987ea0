// What /health/ready means (tutorial §1): the follower is up, enrolled, its binding enabled, its state
// and ingress root usable. The default ingress target, which §2 creates afterwards, reports beside it.
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Readiness } from "../../shared/protocol/schemas.ts";
import { inProcessAgent, tempDir } from "./helpers.ts";

type Agent = Awaited<ReturnType<typeof inProcessAgent>>;

async function readiness(h: Agent): Promise<{ status: number; body: Readiness }> {
  const response = await h.fetch("http://agent.test/health/ready");
  return { status: response.status, body: (await response.json()) as Readiness };
}

const failing = (body: Readiness) => body.checks.filter((c) => !c.ok).map((c) => c.name);

describe("agent readiness", () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  it("answers 200 on a fresh enrolled follower with no ingress target, and says the target is missing", async () => {
    const h = await inProcessAgent();
    cleanups.push(h.cleanup);
    const { status, body } = await readiness(h);
    expect(status).toBe(200);
    expect(body.status).toBe("ready");
    expect(failing(body)).toEqual([]);
    expect(body.default_target).toMatchObject({ ok: false });
    expect(body.default_target?.checks[0]).toMatchObject({ name: "default_target_applied", ok: false });
  });

  it("answers 503 naming the binding when the primary disabled the node", async () => {
    const h = await inProcessAgent();
    cleanups.push(h.cleanup);
    await h.client.pushBinding({ name: "Follower A", enabled: false, revision: 1 });
    const { status, body } = await readiness(h);
    expect(status).toBe(503);
    expect(failing(body)).toEqual(["binding_enabled"]);
  });

  it("answers 503 naming the ingress root when it is a file, and the reason names no path", async () => {
    const parent = await tempDir("root-file");
    cleanups.push(parent.remove);
    const file = join(parent.path, "not-a-dir");
    await writeFile(file, "x");
    const h = await inProcessAgent({ managedIngressLocalRoot: file });
    cleanups.push(h.cleanup);
    const { status, body } = await readiness(h);
    expect(status).toBe(503);
    expect(failing(body)).toEqual(["ingress_root_usable"]);
    expect(JSON.stringify(body)).not.toContain(parent.path);
  });

  it("answers 503 naming the state when its directory is gone", async () => {
    const h = await inProcessAgent();
    cleanups.push(h.cleanup);
    await rm(h.dataDir, { recursive: true, force: true });
    const { status, body } = await readiness(h);
    expect(status).toBe(503);
    expect(failing(body)).toEqual(["state_writable"]);
    expect(JSON.stringify(body)).not.toContain(h.dataDir);
  });
});
