// Ingress targets as the primary pushes them: confinement of local base paths (lexical and symlinks),
// revisions, the default target, S3 apply probes with refused credentials or an unreachable endpoint,
// and what object traffic and /health/ready say about it.
import { readdir, stat, symlink } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { IngressTargetSpec, Readiness } from "../../shared/protocol/schemas.ts";
import { bytes } from "../support/bytes.ts";
import { codeOf } from "../support/envelopes.ts";
import { S3RVER_WIRE_KEY, startS3rver } from "../support/s3rver.ts";
import { inProcessAgent, tempDir } from "./helpers.ts";

const local = (base_path: string, revision = 1, is_default = true): IngressTargetSpec => ({
  driver: "local",
  name: "default-local",
  revision,
  is_default,
  base_path,
});

describe("ingress targets", () => {
  let h: Awaited<ReturnType<typeof inProcessAgent>>;
  let s3: Awaited<ReturnType<typeof startS3rver>>;
  let outside: Awaited<ReturnType<typeof tempDir>>;

  beforeAll(async () => {
    h = await inProcessAgent();
    s3 = await startS3rver(["bucket"]);
    outside = await tempDir("outside");
  });
  afterAll(async () => {
    await h.cleanup();
    await s3.stop();
    await outside.remove();
  });

  it("is ready before a default target exists, says the target is missing, and refuses objects with 412", async () => {
    const ready = await h.fetch("http://agent.test/health/ready");
    expect(ready.status).toBe(200);
    const body = (await ready.json()) as Readiness;
    expect(body.status).toBe("ready");
    expect(body.checks.map((c) => [c.name, c.ok])).toEqual([
      ["enrolled", true],
      ["binding_enabled", true],
      ["state_writable", true],
      ["ingress_root_usable", true],
    ]);
    expect(body.default_target?.ok).toBe(false);
    expect(body.default_target?.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual([
      "default_target_applied",
      "default_target_writable",
    ]);
    expect(body.default_target?.checks[0]?.reason).toMatch(/^No default ingress target yet/);
    expect(await codeOf(h.client.putObject("a", bytes(1), { size: 1 }))).toBe("ingress_default_missing");
  });

  it("refuses base paths that leave managed_ingress_local_root and stores nothing", async () => {
    for (const bad of [
      "../x",
      "/etc",
      "a/../../b",
      "a\\..\\b",
      "a/%2e%2e/b",
      "C:\\x",
      "ａ",
      "a\u0000b",
      "",
      "a//b",
    ]) {
      expect(await codeOf(h.client.upsertIngressTarget("bad", local(bad))), bad).toMatch(
        /^(ingress_path_invalid|validation_failed)$/,
      );
    }
    await symlink(outside.path, join(h.root, "escape"));
    expect(await codeOf(h.client.upsertIngressTarget("bad", local("escape/sub")))).toBe(
      "ingress_path_invalid",
    );
    expect(await h.client.listIngressTargets()).toEqual([]);
    expect(await readdir(outside.path)).toEqual([]);
  });

  it("applies a local target under the root, write-tests it, and reports capacity", async () => {
    const info = await h.client.upsertIngressTarget("default-local", local("default"));
    expect(info).toMatchObject({ state: "applied", applied_revision: 1, reason: null, is_default: true });
    expect(info.total_bytes).toBeGreaterThan(0);
    expect((await stat(join(h.root, "default"))).isDirectory()).toBe(true);
    const ready = await h.fetch("http://agent.test/health/ready");
    expect(ready.status).toBe(200);
    expect(((await ready.json()) as Readiness).default_target).toEqual({
      ok: true,
      checks: [
        { name: "default_target_applied", ok: true, reason: null },
        { name: "default_target_writable", ok: true, reason: null },
      ],
    });
    const stored = await h.client.putObject("files/x", bytes(10), { size: 10 });
    expect(stored.target).toBe("default-local");
    expect((await stat(join(h.root, "default", "files", "x"))).size).toBe(10);
  });

  it("refuses an object key that reaches through a symlink planted inside the target", async () => {
    await symlink(outside.path, join(h.root, "default", "planted"));
    expect(await codeOf(h.client.putObject("planted/x", bytes(3), { size: 3 }))).toBe("ingress_path_invalid");
    expect(await readdir(outside.path)).toEqual([]);
  });

  it("refuses stale revisions and re-applies the same revision", async () => {
    await h.client.upsertIngressTarget("default-local", local("default", 3));
    expect(await codeOf(h.client.upsertIngressTarget("default-local", local("default", 2)))).toBe(
      "ingress_revision_stale",
    );
    const again = await h.client.upsertIngressTarget("default-local", local("default", 3));
    expect(again.applied_revision).toBe(3);
  });

  it("records a failed S3 apply with its reason for refused credentials and an unreachable endpoint", async () => {
    const base = {
      driver: "s3" as const,
      name: "s3",
      revision: 1,
      is_default: false,
      region: "us-east-1",
      bucket: "bucket",
      prefix: "",
      path_style: true,
    };
    const refused = await h.client.upsertIngressTarget("s3-refused", {
      ...base,
      endpoint: s3.endpoint,
      access_key_id: "NOT-S3RVER",
      secret_access_key: "nope",
    });
    expect(refused.state).toBe("failed");
    expect(refused.reason).toMatch(/HTTP 403/);
    expect(JSON.stringify(refused)).not.toContain("nope");
    const free = createServer();
    await new Promise<void>((resolve) => free.listen(0, "127.0.0.1", resolve));
    const port = (free.address() as { port: number }).port;
    await new Promise<void>((resolve) => free.close(() => resolve()));
    const down = await h.client.upsertIngressTarget("s3-down", {
      ...base,
      endpoint: `http://127.0.0.1:${port}`,
      ...S3RVER_WIRE_KEY,
    });
    expect(down).toMatchObject({ state: "failed", reason: "The S3 endpoint could not be reached." });
    const missing = await h.client.upsertIngressTarget("s3-nobucket", {
      ...base,
      bucket: "absent",
      endpoint: s3.endpoint,
      ...S3RVER_WIRE_KEY,
    });
    expect(missing.reason).toBe('Bucket "absent" does not exist.');
    expect(await codeOf(h.client.putObject("a", bytes(1), { size: 1, target: "s3-down" }))).toBe(
      "ingress_default_not_applied",
    );
    const ok = await h.client.upsertIngressTarget("s3-ok", {
      ...base,
      endpoint: s3.endpoint,
      ...S3RVER_WIRE_KEY,
    });
    expect(ok.state).toBe("applied");
    expect(ok.s3).toMatchObject({ bucket: "bucket" });
    expect(Object.keys(ok.s3 ?? {})).not.toContain("secret_access_key");
    expect(JSON.stringify(await h.client.listIngressTargets())).not.toMatch(/access_key|S3RVER/);
  });

  it("answers 502 storage_unavailable when an applied S3 target goes down, and readiness says so", async () => {
    const flaky = await startS3rver(["bucket"]);
    const applied = await h.client.upsertIngressTarget("s3-flaky", {
      driver: "s3",
      name: "flaky",
      revision: 1,
      is_default: true,
      endpoint: flaky.endpoint,
      region: "us-east-1",
      bucket: "bucket",
      prefix: "",
      path_style: true,
      ...S3RVER_WIRE_KEY,
    });
    expect(applied.state).toBe("applied");
    const readiness = async () =>
      (await (await h.fetch("http://agent.test/health/ready")).json()) as Readiness;
    expect((await readiness()).default_target?.ok).toBe(true);
    await flaky.stop();
    expect(await codeOf(h.client.putObject("a", bytes(1), { size: 1, target: "s3-flaky" }))).toBe(
      "storage_unavailable",
    );
    expect(await codeOf(h.client.getObject("a", { target: "s3-flaky" }))).toBe("storage_unavailable");
    // The follower itself stays ready; its default target says it cannot take objects, and why.
    const down = await readiness();
    expect(down.status).toBe("ready");
    expect(down.default_target?.ok).toBe(false);
    const writable = down.default_target?.checks.find((c) => c.name === "default_target_writable");
    expect(writable).toMatchObject({ ok: false });
    expect(writable?.reason).toMatch(/^Default target is not writable: /);
    await h.client.upsertIngressTarget("default-local", local("default", 4));
    await h.client.deleteIngressTarget("s3-flaky");
  });

  it("moves the default, keeps reads on the target an object was written to, and guards deletion", async () => {
    const onLocal = await h.client.putObject("files/stay", bytes(5, 5), { size: 5 });
    await h.client.upsertIngressTarget("s3-ok", {
      driver: "s3",
      name: "s3",
      revision: 2,
      is_default: true,
      endpoint: s3.endpoint,
      region: "us-east-1",
      bucket: "bucket",
      prefix: "",
      path_style: true,
      ...S3RVER_WIRE_KEY,
    });
    const targets = await h.client.listIngressTargets();
    expect(targets.filter((t) => t.is_default).map((t) => t.key)).toEqual(["s3-ok"]);
    const read = await h.client.getObject("files/stay", { target: onLocal.target });
    expect(new Uint8Array(await read.arrayBuffer())).toEqual(bytes(5, 5));
    expect(await h.client.headObject("files/stay")).toBeNull();
    expect(await codeOf(h.client.deleteIngressTarget("s3-ok"))).toBe("conflict");
    await h.client.deleteIngressTarget("s3-down");
    expect(await codeOf(h.client.deleteIngressTarget("s3-down"))).toBe("ingress_target_not_found");
  });

  it("takes the binding push: a disabled node refuses object traffic but still reports capabilities", async () => {
    await h.client.pushBinding({ name: "Follower A", enabled: false, revision: 1 });
    expect(await codeOf(h.client.putObject("a", bytes(1), { size: 1 }))).toBe("binding_disabled");
    const caps = await h.client.capabilities();
    expect(caps.binding.enabled).toBe(false);
    expect((await h.fetch("http://agent.test/health/ready")).status).toBe(503);
    expect(await codeOf(h.client.pushBinding({ name: "Follower A", enabled: true, revision: 0 }))).toBe(
      "ingress_revision_stale",
    );
    await h.client.pushBinding({ name: "Follower A", enabled: true, revision: 2 });
    expect((await h.fetch("http://agent.test/health/ready")).status).toBe(200);
  });

  it("describes itself in capabilities (Test Connection)", async () => {
    const caps = await h.client.capabilities();
    expect(caps).toMatchObject({
      protocol: "v2",
      node_id: h.issued.node_id,
      default_target: "s3-ok",
      features: { ranges: true, multipart: true, presigned: true, browser_presigned_cors: true },
      browser_cors: {
        allowed_origins: ["http://primary.test:8787"],
        allowed_headers: ["content-type", "range"],
        exposed_headers_put: ["ETag"],
      },
    });
    expect(caps.browser_cors.exposed_headers_get).toEqual(
      expect.arrayContaining(["Accept-Ranges", "Content-Range", "Content-Length", "ETag"]),
    );
    expect(caps.ingress_targets.find((t) => t.key === "default-local")?.free_bytes).toBeGreaterThan(0);
  });
});
