// Presigned modes end to end with a REAL agent that knows its own base_url: Test Connection shows
// browser_presigned_cors, a presigned remote policy is accepted, and URLs from the remote driver work
// for a browser at the primary's origin (CORS) and are refused to any other origin.
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ingressTargetSchema } from "../../../worker/api/ingress-targets.ts";
import { enrollmentTokenSchema, nodeSchema, testResultSchema } from "../../../worker/api/nodes.ts";
import { policySchema } from "../../../worker/api/policies.ts";
import { storagePolicies } from "../../../worker/db/schema.ts";
import { driverForPolicy } from "../../../worker/storage/factory.ts";
import type { StorageDriver } from "../../../worker/storage/types.ts";
import { freePort, startAgentProcess } from "../../support/agents.ts";
import { type Primary, startPrimary } from "../../support/http-primary.ts";

describe("presigned remote policy with a real agent", () => {
  let primary: Primary;
  let agent: Awaited<ReturnType<typeof startAgentProcess>>;
  let driver: StorageDriver;
  let nodePath = "";
  let policyId = "";

  beforeAll(async () => {
    primary = await startPrimary();
    const port = await freePort();
    const node = await primary.ok(nodeSchema, "POST", "/api/v1/admin/nodes", { name: "Follower P" });
    const path = `/api/v1/admin/nodes/${node.id}`;
    nodePath = path;
    const { token } = await primary.ok(enrollmentTokenSchema, "POST", `${path}/enrollment-token`, {});
    agent = await startAgentProcess({ primaryUrl: primary.origin, token, port });
    // The agent told the primary its base_url at redeem, so no edit is needed.
    expect((await primary.ok(nodeSchema, "GET", path)).base_url).toBe(agent.baseUrl);
    const tested = await primary.ok(testResultSchema, "POST", `${path}/test`, undefined, 200);
    expect(tested.capabilities.features.browser_presigned_cors).toBe(true);
    expect(tested.capabilities.browser_cors.allowed_origins).toEqual([primary.origin]);
    await primary.ok(ingressTargetSchema, "POST", `${path}/ingress-targets`, {
      name: "default-local",
      driver: "local",
      base_path: "default",
    });
    const policy = await primary.ok(policySchema, "POST", "/api/v1/admin/policies", {
      name: "Remote presigned",
      driver: "remote",
      node_id: node.id,
      upload_mode: "presigned",
      download_mode: "presigned",
    });
    policyId = policy.id;
    const [row] = await primary.db.select().from(storagePolicies).where(eq(storagePolicies.id, policy.id));
    driver = await driverForPolicy(primary.services(), row!);
  });
  afterAll(async () => {
    await agent?.destroy();
    await primary?.close();
  });

  it("lets a browser at the primary's origin PUT and range-GET through presigned URLs", async () => {
    const body = new TextEncoder().encode("hello from the browser");
    const put = await driver.presign!({
      method: "PUT",
      key: "files/presigned.txt",
      expiresIn: 300,
      size: body.length,
      contentType: "text/plain",
    });
    const uploaded = await fetch(put.url, {
      method: "PUT",
      headers: { ...put.headers, origin: primary.origin },
      body,
    });
    expect(uploaded.ok, await uploaded.clone().text()).toBe(true);
    expect(uploaded.headers.get("access-control-allow-origin")).toBe(primary.origin);
    expect(uploaded.headers.get("access-control-expose-headers")?.toLowerCase()).toContain("etag");

    const get = await driver.presign!({ method: "GET", key: "files/presigned.txt", expiresIn: 300 });
    const downloaded = await fetch(get.url, { headers: { origin: primary.origin, range: "bytes=0-4" } });
    expect(downloaded.status).toBe(206);
    expect(await downloaded.text()).toBe("hello");
    const exposed = downloaded.headers.get("access-control-expose-headers")?.toLowerCase() ?? "";
    for (const header of ["accept-ranges", "content-range", "content-length"])
      expect(exposed).toContain(header);
  });

  it("refuses a presigned URL to a browser at another origin", async () => {
    const get = await driver.presign!({ method: "GET", key: "files/presigned.txt", expiresIn: 300 });
    const refused = await fetch(get.url, { headers: { origin: "https://evil.example" } });
    expect(refused.status).toBe(403);
  });

  it("refuses turning the node outbound-only while a presigned policy uses it, and allows it once the policy relays", async () => {
    const refused = await primary.fail("PATCH", nodePath, { connectivity: "outbound" });
    expect(refused).toMatchObject({ status: 409, code: "node_has_presigned_policies" });
    expect(refused.details).toEqual({ policies: [{ id: policyId, name: "Remote presigned" }] });
    expect((await primary.ok(nodeSchema, "GET", nodePath)).connectivity).toBe("direct");

    await primary.ok(policySchema, "PATCH", `/api/v1/admin/policies/${policyId}`, {
      upload_mode: "relay_stream",
      download_mode: "relay_stream",
    });
    const outbound = await primary.ok(nodeSchema, "PATCH", nodePath, { connectivity: "outbound" });
    expect(outbound.connectivity).toBe("outbound");
    // And back: an outbound node's policy cannot be made presigned again.
    const presigned = await primary.fail("PATCH", `/api/v1/admin/policies/${policyId}`, {
      download_mode: "presigned",
    });
    expect(presigned).toMatchObject({ status: 422, code: "presign_needs_direct_node" });
  });
});
