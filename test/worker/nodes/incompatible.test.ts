// Test Connection against a FAKE follower answering hand-written capability documents over real HTTP
// (it does not check signatures; everything else is the real primary): incompatible documents are
// refused with node_incompatible, never become the last good probe, and gate remote policies.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Capabilities, capabilitiesSchema } from "../../../shared/protocol/schemas.ts";
import {
  enrollmentTokenSchema,
  nodeDetailsSchema,
  nodeSchema,
  testResultSchema,
} from "../../../worker/api/nodes.ts";
import { policySchema } from "../../../worker/api/policies.ts";
import { type Primary, startPrimary } from "../../support/http-primary.ts";

const goodDocument: Capabilities = capabilitiesSchema.parse({
  protocol: "v2",
  protocol_min: "v2",
  protocol_max: "v2",
  server_version: "fake-1.0",
  node_id: "fake",
  binding: { name: "fake", enabled: true },
  features: {
    ranges: true,
    conditional_get: true,
    sha256: true,
    multipart: true,
    presigned: true,
    browser_presigned_cors: true,
  },
  browser_cors: {
    allowed_origins: ["http://primary.test"],
    allowed_headers: ["content-type", "range"],
    exposed_headers_get: ["Accept-Ranges", "Content-Range", "Content-Length", "ETag"],
    exposed_headers_put: ["ETag"],
  },
  limits: {
    max_object_bytes: null,
    max_part_bytes: 1e9,
    max_parts: 10000,
    max_json_body_bytes: 1e6,
    presign_max_ttl_seconds: 3600,
    clock_skew_seconds: 300,
  },
  ingress_targets: [],
  default_target: null,
});

describe("Test Connection against a fake follower with incompatible capability documents (fake over real HTTP)", () => {
  let primary: Primary;
  let server: Server;
  let document: unknown = goodDocument;
  let origin: string;

  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === "/internal/v2/capabilities") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify(document));
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    primary = await startPrimary();
  });
  afterAll(async () => {
    await primary?.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  async function enrolledNode(name: string) {
    const node = await primary.ok(nodeSchema, "POST", "/api/v1/admin/nodes", { name, base_url: origin });
    const { token } = await primary.ok(
      enrollmentTokenSchema,
      "POST",
      `/api/v1/admin/nodes/${node.id}/enrollment-token`,
      {},
    );
    const redeemed = await primary.call(
      "POST",
      "/api/v1/enrollment/redeem",
      { token, agent_version: "fake", protocol: "v2" },
      { token: null },
    );
    expect(redeemed.status).toBe(200);
    return node.id;
  }

  it("refuses a document declaring another protocol version and keeps no good probe", async () => {
    const id = await enrolledNode("speaks-v3");
    document = { ...goodDocument, protocol: "v3", protocol_min: "v3", protocol_max: "v3" };
    const refused = await primary.fail("POST", `/api/v1/admin/nodes/${id}/test`);
    expect(refused).toMatchObject({ status: 412, code: "node_incompatible" });
    expect(refused.message).toContain("protocol");
    const details = await primary.ok(nodeDetailsSchema, "GET", `/api/v1/admin/nodes/${id}`);
    expect(details.last_probe).toMatchObject({ ok: false, capabilities: null });
    expect(details.last_good_probe).toBeNull();
    const policy = await primary.fail("POST", "/api/v1/admin/policies", {
      name: "on-v3",
      driver: "remote",
      node_id: id,
    });
    expect(policy).toMatchObject({ status: 412, code: "node_never_tested" });
  });

  it("refuses a v2 document whose supported range excludes v2", async () => {
    const id = await enrolledNode("range-v3-v4");
    document = { ...goodDocument, protocol_min: "v3", protocol_max: "v4" };
    const refused = await primary.fail("POST", `/api/v1/admin/nodes/${id}/test`);
    expect(refused).toMatchObject({ status: 412, code: "node_incompatible" });
    expect(JSON.stringify(refused.details)).toContain("declares v3-v4");
  });

  it("refuses a document that lost a feature a remote policy needs, keeping the last good probe", async () => {
    const id = await enrolledNode("loses-multipart");
    document = goodDocument;
    const ok = await primary.ok(testResultSchema, "POST", `/api/v1/admin/nodes/${id}/test`, undefined, 200);
    expect(ok.server_version).toBe("fake-1.0");
    await primary.ok(policySchema, "POST", "/api/v1/admin/policies", {
      name: "relay on fake",
      driver: "remote",
      node_id: id,
      download_mode: "presigned",
    });
    document = {
      ...goodDocument,
      features: { ...goodDocument.features, multipart: false },
      browser_cors: { ...goodDocument.browser_cors, exposed_headers_get: ["ETag"] },
    };
    const refused = await primary.fail("POST", `/api/v1/admin/nodes/${id}/test`);
    expect(refused).toMatchObject({ status: 412, code: "node_incompatible" });
    const problems = JSON.stringify(refused.details);
    expect(problems).toContain("multipart");
    expect(problems).toContain("Accept-Ranges");
    const details = await primary.ok(nodeDetailsSchema, "GET", `/api/v1/admin/nodes/${id}`);
    expect(details.last_good_probe?.capabilities.features.multipart).toBe(true);
    expect(details.last_probe?.capabilities?.features.multipart).toBe(false);
    const another = await primary.fail("POST", "/api/v1/admin/policies", {
      name: "second",
      driver: "remote",
      node_id: id,
    });
    expect(another).toMatchObject({ status: 412, code: "node_incompatible" });
  });

  it("refuses a document that is not protocol v2 at all", async () => {
    const id = await enrolledNode("garbage");
    document = { hello: "world" };
    const refused = await primary.fail("POST", `/api/v1/admin/nodes/${id}/test`);
    expect(refused).toMatchObject({ status: 412, code: "node_incompatible" });
  });
});
