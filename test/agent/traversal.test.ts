// Traversal attempts in object keys, in process and as raw HTTP against a real agent process: encoded
// dots and slashes, backslashes, NUL, unicode look-alikes. Each is refused or stays inside the target.

import { readdir } from "node:fs/promises";
import { request } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFollowerClient } from "../../shared/protocol/client.ts";
import { signRequest } from "../../shared/protocol/signing.ts";
import { startAgentProcess } from "../support/agents.ts";
import { inProcessAgent, startRedeemServer, tempDir } from "./helpers.ts";

const ATTEMPTS = [
  "..%2f..%2fescape",
  "a%2F..%2F..%2Fescape",
  "a%5c..%5c..%5cescape",
  "a%00b",
  "%EF%BC%8E%EF%BC%8E%EF%BC%8Fescape",
  "%E2%80%A4%E2%80%A4/escape",
  "%E2%88%95escape",
  ".flotilla/meta/x",
];

describe("object key traversal", () => {
  let h: Awaited<ReturnType<typeof inProcessAgent>>;

  beforeAll(async () => {
    h = await inProcessAgent();
    await h.client.upsertIngressTarget("t", {
      driver: "local",
      name: "t",
      revision: 1,
      is_default: true,
      base_path: "t",
    });
  });
  afterAll(() => h.cleanup());

  it("refuses encoded, backslash, NUL, look-alike and reserved keys with object_key_invalid", async () => {
    for (const key of ATTEMPTS) {
      const path = `/internal/v2/objects/${key}?size=1`;
      const headers = await signRequest({
        method: "PUT",
        path,
        credentials: { keyId: h.issued.key_id, secret: h.issued.secret },
        body: "unsigned",
      });
      const response = await h.fetch(`http://agent.test${path}`, { method: "PUT", headers, body: "x" });
      const body = (await response.json()) as { error: { code: string } };
      expect([response.status, body.error.code], key).toEqual([400, "object_key_invalid"]);
    }
    expect(await readdir(h.root)).toEqual(["t"]);
  });

  it("lets URL parsing resolve encoded dot segments out of the objects namespace (404, nothing written)", async () => {
    const path = "/internal/v2/objects/%2e%2e/%2e%2e/escape?size=1";
    const headers = await signRequest({
      method: "PUT",
      path,
      credentials: { keyId: h.issued.key_id, secret: h.issued.secret },
      body: "unsigned",
    });
    const response = await h.fetch(`http://agent.test${path}`, { method: "PUT", headers, body: "x" });
    expect(response.status).toBe(404);
    expect(await readdir(h.root)).toEqual(["t"]);
  });

  it("refuses bad keys in the client before sending", async () => {
    for (const key of ["../x", "a/../b", "/abs", "a\\b", "a\u0000b", "ａ", "a//b"]) {
      await expect(h.client.putObject(key, new Uint8Array(1), { size: 1 }), key).rejects.toMatchObject({
        code: "object_key_invalid",
      });
    }
  });
});

describe("raw HTTP traversal against a real agent", () => {
  it("never writes outside the target for raw dot segments and backslashes", async () => {
    const primary = await startRedeemServer();
    const issued = primary.issue();
    const dir = await tempDir("raw");
    const agent = await startAgentProcess({
      env: {
        FLOTILLA_AGENT_DATA_DIR: join(dir.path, "data"),
        FLOTILLA_AGENT_LISTEN: "127.0.0.1:0",
        FLOTILLA_MANAGED_INGRESS_LOCAL_ROOT: join(dir.path, "root"),
        FLOTILLA_PRIMARY_URL: primary.url,
        FLOTILLA_ENROLLMENT_TOKEN: issued.token,
      },
    });
    try {
      const credentials = { keyId: issued.key_id, secret: issued.secret };
      const client = createFollowerClient({ baseUrl: agent.baseUrl, ...credentials });
      await client.upsertIngressTarget("t", {
        driver: "local",
        name: "t",
        revision: 1,
        is_default: true,
        base_path: "t",
      });
      const { port } = new URL(agent.baseUrl);
      for (const raw of [
        "/internal/v2/objects/../../../escape?size=1",
        "/internal/v2/objects/a\\..\\..\\..\\escape?size=1",
      ]) {
        const headers = await signRequest({ method: "PUT", path: raw, credentials, body: "unsigned" });
        const status = await new Promise<number>((resolve, reject) => {
          const req = request(
            { host: "127.0.0.1", port, method: "PUT", path: raw, headers: Object.fromEntries(headers) },
            (res) => {
              res.resume();
              resolve(res.statusCode ?? 0);
            },
          );
          req.on("error", reject);
          req.end("x");
        });
        expect(status, raw).toBeGreaterThanOrEqual(400);
        expect(status, raw).toBeLessThan(500);
      }
      expect((await readdir(join(dir.path, "root"))).sort()).toEqual(["t"]);
      expect((await readdir(dir.path)).sort()).toEqual(["data", "root"]);
    } finally {
      await agent.stop();
      await primary.stop();
      await dir.remove();
    }
  });
});
