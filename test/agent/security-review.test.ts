// Security review of the agent's public surface, in process: what /health and /health/ready tell
// anyone (no secret, key, node id, path or S3 credential, even with a failed target), CORS without
// credentials and only on presignable routes, and presigned URLs that cannot be bent to another key or
// query by rewriting the path.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Readiness } from "../../shared/protocol/schemas.ts";
import { bytes } from "../support/bytes.ts";
import { startS3rver } from "../support/s3rver.ts";
import { inProcessAgent } from "./helpers.ts";

const ORIGIN = "http://primary.test:8787";

describe("security review: the agent's public surface", () => {
  let h: Awaited<ReturnType<typeof inProcessAgent>>;
  let s3: Awaited<ReturnType<typeof startS3rver>>;

  beforeAll(async () => {
    h = await inProcessAgent();
    s3 = await startS3rver(["bucket"]);
    await h.client.upsertIngressTarget("default-local", {
      driver: "local",
      name: "default-local",
      revision: 1,
      is_default: true,
      base_path: "default",
    });
  });
  afterAll(async () => {
    await h.cleanup();
    await s3.stop();
  });

  it("tells the public no secret, key id, node id, path or S3 credential, even with a failed default target", async () => {
    const access = "AKIDREVIEWSECRETID";
    const secret = "review-secret-access-key-value";
    const failed = await h.client.upsertIngressTarget("s3-refused", {
      driver: "s3",
      name: "refused",
      revision: 1,
      is_default: true,
      endpoint: s3.endpoint,
      region: "us-east-1",
      bucket: "bucket",
      prefix: "",
      path_style: true,
      access_key_id: access,
      secret_access_key: secret,
    });
    expect(failed.state).toBe("failed");
    // The follower itself is ready; the failed default target is reported beside it.
    const ready = await h.fetch("http://agent.test/health/ready");
    expect(ready.status).toBe(200);
    expect(((await ready.clone().json()) as Readiness).default_target?.ok).toBe(false);
    const health = await h.fetch("http://agent.test/health");
    expect(health.status).toBe(200);
    const metrics = await h.fetch("http://agent.test/metrics");
    expect(metrics.status).toBe(404);
    for (const text of [await ready.text(), await health.text(), await metrics.text()]) {
      for (const hidden of [
        h.issued.secret,
        h.issued.key_id,
        h.issued.node_id,
        access,
        secret,
        h.root,
        h.dataDir,
        s3.endpoint,
      ]) {
        expect(text).not.toContain(hidden);
      }
    }
    await h.client.upsertIngressTarget("default-local", {
      driver: "local",
      name: "default-local",
      revision: 2,
      is_default: true,
      base_path: "default",
    });
    const applied = await h.fetch("http://agent.test/health/ready");
    expect(applied.status).toBe(200);
    expect(((await applied.json()) as Readiness).default_target?.ok).toBe(true);
  });

  it("answers CORS only for the primary's origin, never with credentials, and only where presigned URLs go", async () => {
    await h.client.putObject("cors/a", bytes(4), { size: 4 });
    const { url } = await h.client.presignGet({ key: "cors/a", expiresInSeconds: 60 });
    const pre = await h.fetch(url, {
      method: "OPTIONS",
      headers: { origin: ORIGIN, "access-control-request-method": "GET" },
    });
    expect(pre.status).toBe(204);
    const get = await h.fetch(url, { headers: { origin: ORIGIN } });
    expect(get.status).toBe(200);
    expect(get.headers.get("access-control-allow-origin")).toBe(ORIGIN);
    for (const answer of [pre, get]) {
      expect(answer.headers.get("access-control-allow-credentials")).toBeNull();
      expect(answer.headers.get("access-control-allow-origin")).not.toBe("*");
    }
    await get.body?.cancel();

    for (const origin of ["null", "http://primary.test:8787.evil.example", "https://primary.test:8787"]) {
      const refused = await h.fetch(url, { headers: { origin } });
      expect(refused.status).toBe(403);
      expect(refused.headers.get("access-control-allow-origin")).toBeNull();
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe(
        "cors_origin_forbidden",
      );
    }
    // The control endpoints take no browser traffic at all: no preflight answer, no CORS headers.
    for (const path of [
      "/internal/v2/binding",
      "/internal/v2/ingress-targets/default-local",
      "/internal/v2/capabilities",
    ]) {
      const preflight = await h.fetch(`http://agent.test${path}`, {
        method: "OPTIONS",
        headers: { origin: ORIGIN, "access-control-request-method": "PUT" },
      });
      expect(preflight.status).toBe(405);
      expect(preflight.headers.get("access-control-allow-origin")).toBeNull();
    }
  });

  it("refuses a presigned URL whose path or query was rewritten toward another key or target", async () => {
    await h.client.putObject("bent/a", bytes(3, 1), { size: 3 });
    await h.client.putObject("bent/b", bytes(3, 2), { size: 3 });
    const { url } = await h.client.presignGet({ key: "bent/a", expiresInSeconds: 60 });
    const signed = new URL(url);
    const variants = [
      signed.href.replace("/bent/a?", "/bent/b?"),
      signed.href.replace("/bent/a?", "/bent%2Fa?"),
      signed.href.replace("/bent/a?", "/bent//a?"),
      signed.href.replace("/bent/a?", "/bent/./a?"),
      signed.href.replace("/bent/a?", "/bent/%61?"),
      `${signed.href}&target=s3-refused`,
      `${signed.href}&response-content-type=text%2Fhtml`,
    ];
    for (const variant of variants) {
      const answer = await h.fetch(variant);
      const text = await answer.text();
      if (answer.status === 200) {
        // Only a rewrite that URL parsing itself undoes may pass, and then it serves the signed key.
        expect(new URL(variant).pathname).toBe(signed.pathname);
        continue;
      }
      expect(answer.status, variant).toBeGreaterThanOrEqual(400);
      expect(answer.status, variant).toBeLessThan(500);
      expect(text).not.toContain(new TextDecoder().decode(bytes(3, 2)));
    }
    expect((await h.fetch(url)).status).toBe(200);
  });
});
