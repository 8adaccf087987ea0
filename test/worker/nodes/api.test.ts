// Follower-node, enrollment, ingress-target and storage-policy API refusals and rules, in process
// over real HTTP and a real libSQL db. Outbound calls are recorded so a refusal can be shown to happen
// before any network traffic; s3 policy tests run against s3rver.
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { redeemResponseSchema } from "../../../shared/protocol/schemas.ts";
import { createUser } from "../../../worker/accounts/users.ts";
import { ingressTargetSchema } from "../../../worker/api/ingress-targets.ts";
import { enrollmentTokenSchema, nodeDetailsSchema, nodeSchema } from "../../../worker/api/nodes.ts";
import { policySchema, policyTestSchema } from "../../../worker/api/policies.ts";
import {
  files,
  followerNodes,
  policyGroupRules,
  policyGroups,
  uploadSessions,
} from "../../../worker/db/schema.ts";
import { ingressTargetRoutes } from "../../../worker/routes/admin/ingress-targets.ts";
import { nodeRoutes } from "../../../worker/routes/admin/nodes.ts";
import { policyRoutes } from "../../../worker/routes/admin/policies.ts";
import { type Primary, startPrimary } from "../../support/http-primary.ts";
import { S3RVER_WIRE_KEY, startS3rver } from "../../support/s3rver.ts";

describe("follower node, enrollment and policy API", () => {
  let primary: Primary;
  let s3: Awaited<ReturnType<typeof startS3rver>>;
  const outbound: string[] = [];

  beforeAll(async () => {
    s3 = await startS3rver(["policies"]);
    primary = await startPrimary({
      fetch: (input, init) => {
        outbound.push(String(input instanceof Request ? input.url : input));
        return fetch(input, init);
      },
    });
  });
  afterAll(async () => {
    await primary?.close();
    await s3?.stop();
  });

  const createNode = async (name: string, base_url = "") =>
    primary.ok(nodeSchema, "POST", "/api/v1/admin/nodes", { name, base_url });
  const redeem = (token: string) =>
    primary.call(
      "POST",
      "/api/v1/enrollment/redeem",
      { token, agent_version: "test", protocol: "v2" },
      { token: null },
    );

  it("normalizes base_url to an origin and refuses anything else without creating the node", async () => {
    expect((await createNode("norm", " HTTPS://Follower.Example:443/ ")).base_url).toBe(
      "https://follower.example",
    );
    expect((await createNode("port", "http://10.0.0.5:7070")).base_url).toBe("http://10.0.0.5:7070");
    expect((await createNode("empty")).base_url).toBe("");
    for (const base_url of [
      "ftp://x",
      "http://x/follower",
      "http://u:p@x",
      "http://x?q=1",
      "http://x#f",
      "nope",
    ]) {
      const refused = await primary.fail("POST", "/api/v1/admin/nodes", {
        name: `bad ${base_url}`,
        base_url,
      });
      expect(refused, base_url).toMatchObject({ status: 400, code: "validation_failed" });
    }
    const names = (
      await primary.ok(z.object({ nodes: z.array(nodeSchema) }), "GET", "/api/v1/admin/nodes")
    ).nodes.map((n) => n.name);
    expect(names.filter((n) => n.startsWith("bad "))).toEqual([]);
    expect(await primary.fail("POST", "/api/v1/admin/nodes", { name: "norm" })).toMatchObject({
      status: 409,
      code: "name_taken",
    });
  });

  it("names the listen address and base_url the node's base_url implies, and quotes what a shell would bend", async () => {
    const cases = [
      {
        name: "Rack 2 / Disk A",
        base: "http://127.0.0.1:7071",
        dir: "data/agent-rack-2-disk-a",
        listen: "127.0.0.1:7071",
      },
      { name: "lan", base: "http://10.0.0.5:7072", dir: "data/agent-lan", listen: "0.0.0.0:7072" },
      {
        name: "proxied",
        base: "https://follower.example",
        dir: "data/agent-proxied",
        listen: "127.0.0.1:7070",
      },
      { name: "v6", base: "http://[::1]:7073", dir: "data/agent-v6", listen: "'[::1]:7073'" },
    ];
    for (const c of cases) {
      const node = await createNode(c.name, c.base);
      const issued = await primary.ok(
        enrollmentTokenSchema,
        "POST",
        `/api/v1/admin/nodes/${node.id}/enrollment-token`,
        {},
      );
      const base = c.base.includes("[") ? `'${node.base_url}'` : node.base_url;
      expect(issued.command.split("\n")).toEqual([
        `flotilla-agent enroll --primary ${primary.origin} --token ${issued.token} --data-dir ${c.dir}`,
        `flotilla-agent start --data-dir ${c.dir} --listen ${c.listen} --base-url ${base}`,
      ]);
    }
  });

  it("shows a new token once with the exact agent command, storing only its hash", async () => {
    const node = await createNode("tokened");
    const issued = await primary.ok(
      enrollmentTokenSchema,
      "POST",
      `/api/v1/admin/nodes/${node.id}/enrollment-token`,
      {},
    );
    // The single executable's two lines: enroll into a data dir named after the node, then start there
    // on the default address (no base_url yet, so none is given).
    const enroll = `enroll --primary ${primary.origin} --token ${issued.token} --data-dir data/agent-tokened`;
    const start = "start --data-dir data/agent-tokened --listen 127.0.0.1:7070";
    expect(issued.command).toBe(`flotilla-agent ${enroll}\nflotilla-agent ${start}`);
    expect(issued.command_from_checkout).toBe(`npm run agent -- ${enroll}\nnpm run agent -- ${start}`);
    expect(issued.note).toMatch(
      /second agent on the same machine needs its own --data-dir, --listen port and --base-url/,
    );
    const minutes = (Date.parse(issued.expires_at) - Date.now()) / 60_000;
    expect(minutes).toBeGreaterThan(25);
    expect(minutes).toBeLessThanOrEqual(30);
    const [row] = await primary.db.select().from(followerNodes).where(eq(followerNodes.id, node.id));
    expect(JSON.stringify(row)).not.toContain(issued.token);
    const details = await primary.ok(nodeDetailsSchema, "GET", `/api/v1/admin/nodes/${node.id}`);
    expect(details.enrollment.status).toBe("pending");
  });

  it("lets a new token replace the old one, redeems once, then refuses a further token", async () => {
    const node = await createNode("replaced");
    const path = `/api/v1/admin/nodes/${node.id}/enrollment-token`;
    const first = await primary.ok(enrollmentTokenSchema, "POST", path, {});
    const second = await primary.ok(enrollmentTokenSchema, "POST", path, { ttl_minutes: 5 });
    const stale = await redeem(first.token);
    expect(stale.status).toBe(401);
    expect(((await stale.json()) as { error: { code: string } }).error.code).toBe("enrollment_token_invalid");
    const fresh = await redeem(second.token);
    expect(fresh.status).toBe(200);
    const creds = redeemResponseSchema.parse(await fresh.json());
    expect(creds).toMatchObject({
      node_id: node.id,
      node_name: "replaced",
      primary_origin: primary.origin,
      protocol: "v2",
    });
    expect(creds.secret.length).toBeGreaterThanOrEqual(32);
    const details = await primary.ok(nodeDetailsSchema, "GET", `/api/v1/admin/nodes/${node.id}`);
    expect(details.enrollment.status).toBe("completed");
    expect(details.key_id).toBe(creds.key_id);
    expect(await primary.fail("POST", path, {})).toMatchObject({
      status: 409,
      code: "node_already_enrolled",
    });
  });

  it("answers 404 to a token issued while its node is being deleted (a trigger deletes it mid-issue)", async () => {
    const node = await createNode("deleted-mid-issue");
    // The deletion lands right after the token is written and before its event is recorded, the
    // window concurrent requests hit (it answered 500 on the event's foreign key).
    await primary.db.run(
      sql.raw(`create trigger delete_mid_issue after update of enrollment_token_hash on follower_nodes
        when new.id = '${node.id}' begin delete from follower_nodes where id = new.id; end`),
    );
    try {
      expect(await primary.fail("POST", `/api/v1/admin/nodes/${node.id}/enrollment-token`, {})).toMatchObject(
        {
          status: 404,
          code: "not_found",
        },
      );
    } finally {
      await primary.db.run(sql.raw("drop trigger delete_mid_issue"));
    }
    expect(await primary.fail("POST", `/api/v1/admin/nodes/${node.id}/enrollment-token`, {})).toMatchObject({
      status: 404,
      code: "not_found",
    });
  });

  it("records the agent's base_url at redeem only when the node has none", async () => {
    for (const [name, own, expected] of [
      ["url-from-agent", "", "https://agent.example:7443"],
      ["url-kept", "http://10.1.1.1:7070", "http://10.1.1.1:7070"],
    ] as const) {
      const node = await createNode(name, own);
      const issued = await primary.ok(
        enrollmentTokenSchema,
        "POST",
        `/api/v1/admin/nodes/${node.id}/enrollment-token`,
        {},
      );
      const response = await primary.call(
        "POST",
        "/api/v1/enrollment/redeem",
        { token: issued.token, base_url: "https://Agent.Example:7443/", agent_version: "t", protocol: "v2" },
        { token: null },
      );
      expect(response.status).toBe(200);
      expect((await primary.ok(nodeSchema, "GET", `/api/v1/admin/nodes/${node.id}`)).base_url).toBe(expected);
    }
  });

  it("hands out the credentials to exactly one of several simultaneous redeems of a token", async () => {
    const node = await createNode("raced");
    const issued = await primary.ok(
      enrollmentTokenSchema,
      "POST",
      `/api/v1/admin/nodes/${node.id}/enrollment-token`,
      {},
    );
    const answers = await Promise.all(Array.from({ length: 5 }, () => redeem(issued.token)));
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses).toEqual([200, 410, 410, 410, 410]);
    const winner = redeemResponseSchema.parse(await answers.find((a) => a.status === 200)!.json());
    const details = await primary.ok(nodeDetailsSchema, "GET", `/api/v1/admin/nodes/${node.id}`);
    expect(details.key_id).toBe(winner.key_id);
  });

  it("answers an expired token with enrollment_token_expired and shows the node as expired", async () => {
    const node = await createNode("expired");
    const issued = await primary.ok(
      enrollmentTokenSchema,
      "POST",
      `/api/v1/admin/nodes/${node.id}/enrollment-token`,
      {},
    );
    await primary.db
      .update(followerNodes)
      .set({ enrollmentExpiresAt: new Date(Date.now() - 1000) })
      .where(eq(followerNodes.id, node.id));
    const response = await redeem(issued.token);
    expect(response.status).toBe(410);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe(
      "enrollment_token_expired",
    );
    const details = await primary.ok(nodeDetailsSchema, "GET", `/api/v1/admin/nodes/${node.id}`);
    expect(details.enrollment.status).toBe("expired");
    expect(details.key_id).toBeNull();
  });

  it("refuses an unknown token and a malformed redeem body", async () => {
    expect((await redeem("enr_this-token-was-never-issued")).status).toBe(401);
    const malformed = await primary.fail(
      "POST",
      "/api/v1/enrollment/redeem",
      { token: "short" },
      { token: null },
    );
    expect(malformed).toMatchObject({ status: 400, code: "validation_failed" });
  });

  it("refuses Test Connection before enrollment and without base_url, with no network call", async () => {
    const pending = await createNode("unenrolled", "http://127.0.0.1:9");
    const before = outbound.length;
    expect(await primary.fail("POST", `/api/v1/admin/nodes/${pending.id}/test`)).toMatchObject({
      status: 412,
      code: "node_not_enrolled",
    });
    const issued = await primary.ok(
      enrollmentTokenSchema,
      "POST",
      `/api/v1/admin/nodes/${pending.id}/enrollment-token`,
      {},
    );
    await primary.db.update(followerNodes).set({ baseUrl: "" }).where(eq(followerNodes.id, pending.id));
    expect((await redeem(issued.token)).status).toBe(200);
    expect(await primary.fail("POST", `/api/v1/admin/nodes/${pending.id}/test`)).toMatchObject({
      status: 412,
      code: "node_no_base_url",
    });
    expect(outbound.length).toBe(before);
  });

  it("refuses a remote policy on a node that is missing, unenrolled, disabled or never tested", async () => {
    const remote = (node_id: string) => ({ name: `remote-${node_id}`, driver: "remote", node_id });
    expect(await primary.fail("POST", "/api/v1/admin/policies", remote("nope"))).toMatchObject({
      status: 400,
      code: "validation_failed",
    });
    const unenrolled = await createNode("policy-unenrolled", "http://127.0.0.1:9");
    expect(await primary.fail("POST", "/api/v1/admin/policies", remote(unenrolled.id))).toMatchObject({
      status: 412,
      code: "node_not_enrolled",
    });
    const untested = await createNode("policy-untested", "http://127.0.0.1:9");
    const issued = await primary.ok(
      enrollmentTokenSchema,
      "POST",
      `/api/v1/admin/nodes/${untested.id}/enrollment-token`,
      {},
    );
    expect((await redeem(issued.token)).status).toBe(200);
    expect(await primary.fail("POST", "/api/v1/admin/policies", remote(untested.id))).toMatchObject({
      status: 412,
      code: "node_never_tested",
    });
    await primary.call("PATCH", `/api/v1/admin/nodes/${untested.id}`, { enabled: false });
    expect(await primary.fail("POST", "/api/v1/admin/policies", remote(untested.id))).toMatchObject({
      status: 412,
      code: "node_disabled",
    });
  });

  it("refuses presigned modes on the primary store, bad chunk sizes and escaping key prefixes", async () => {
    const cases = [
      { name: "p1", driver: "primary", upload_mode: "presigned" },
      { name: "p2", driver: "primary", download_mode: "presigned" },
      { name: "p3", driver: "primary", chunk_size: 1024 },
      { name: "p4", driver: "primary", chunk_size: 200 * 1024 * 1024 },
      { name: "p5", driver: "primary", key_prefix: "../up" },
      { name: "p6", driver: "remote" },
      { name: "p7", driver: "s3" },
    ];
    for (const body of cases) {
      expect(await primary.fail("POST", "/api/v1/admin/policies", body), body.name).toMatchObject({
        status: 400,
        code: "validation_failed",
      });
    }
  });

  it("tests an s3 policy on s3rver by writing, reading back and deleting a probe object", async () => {
    const policy = await primary.ok(policySchema, "POST", "/api/v1/admin/policies", {
      name: "S3 on s3rver",
      driver: "s3",
      key_prefix: "tenant-a",
      s3: {
        endpoint: s3.endpoint,
        bucket: "policies",
        ...S3RVER_WIRE_KEY,
      },
    });
    expect(policy.s3).toMatchObject({ bucket: "policies", has_credentials: true, path_style: true });
    const tested = await primary.ok(
      policyTestSchema,
      "POST",
      `/api/v1/admin/policies/${policy.id}/test`,
      undefined,
      200,
    );
    expect(tested).toMatchObject({ ok: true, driver: "s3", location: null });
    expect(tested.steps.every((s) => s.ok)).toBe(true);
  });

  it("reports the failing step of an s3 policy whose credentials the store refuses", async () => {
    const policy = await primary.ok(policySchema, "POST", "/api/v1/admin/policies", {
      name: "S3 wrong key",
      driver: "s3",
      s3: {
        endpoint: s3.endpoint,
        bucket: "policies",
        access_key_id: "UNKNOWN",
        secret_access_key: "whatever-secret",
      },
    });
    const response = await primary.call("POST", `/api/v1/admin/policies/${policy.id}/test`);
    const text = await response.text();
    expect(text).not.toContain("whatever-secret");
    const tested = policyTestSchema.parse(JSON.parse(text));
    expect(tested.ok).toBe(false);
    expect(tested.steps).toEqual([
      {
        step: "write",
        ok: false,
        error: { code: "storage_rejected", message: expect.stringContaining("InvalidAccessKeyId") },
      },
    ]);
  });

  it("refuses to delete a policy that a policy group rule uses", async () => {
    const policy = await primary.ok(policySchema, "POST", "/api/v1/admin/policies", {
      name: "grouped",
      driver: "primary",
    });
    await primary.db.insert(policyGroups).values({ id: "g-del", name: "uses grouped" });
    await primary.db
      .insert(policyGroupRules)
      .values({ id: "r-del", groupId: "g-del", policyId: policy.id, priority: 1 });
    expect(await primary.fail("DELETE", `/api/v1/admin/policies/${policy.id}`)).toMatchObject({
      status: 409,
      code: "policy_in_use",
    });
    const free = await primary.ok(policySchema, "POST", "/api/v1/admin/policies", {
      name: "free",
      driver: "primary",
    });
    expect((await primary.call("DELETE", `/api/v1/admin/policies/${free.id}`)).status).toBe(204);
  });

  it("deletes a policy whose uploads are finished, but not while an upload is open or a file is stored", async () => {
    const policy = await primary.ok(policySchema, "POST", "/api/v1/admin/policies", {
      name: "history only",
      driver: "primary",
    });
    const user = await createUser(
      primary.db,
      { username: `uploader-${policy.id.slice(0, 8)}`, password: "correct horse battery", role: "user" },
      new Date(),
    );
    const session = (id: string, state: "open" | "completed" | "failed") => ({
      id,
      userId: user.id,
      spaceKind: "user" as const,
      spaceId: user.id,
      name: `${id}.bin`,
      size: 1,
      contentType: "application/octet-stream",
      policyId: policy.id,
      mode: "relay_stream" as const,
      chunkSize: 1,
      partCount: 1,
      storageKey: `files/${id}`,
      state,
      expiresAt: new Date(Date.now() + 60_000),
    });
    await primary.db
      .insert(uploadSessions)
      .values([session(`${policy.id}-done`, "completed"), session(`${policy.id}-failed`, "failed")]);
    await primary.db.insert(uploadSessions).values(session(`${policy.id}-open`, "open"));
    const path = `/api/v1/admin/policies/${policy.id}`;
    expect(await primary.fail("DELETE", path)).toMatchObject({ status: 409, code: "policy_in_use" });

    await primary.db.delete(uploadSessions).where(eq(uploadSessions.id, `${policy.id}-open`));
    await primary.db.insert(files).values({
      id: `${policy.id}-file`,
      spaceKind: "user",
      spaceId: user.id,
      name: "kept.bin",
      size: 1,
      sha256: "0".repeat(64),
      policyId: policy.id,
      storageKey: "files/kept",
      trashedAt: new Date(),
    });
    expect(await primary.fail("DELETE", path)).toMatchObject({ status: 409, code: "policy_in_use" });
    // The refusal changed nothing: the finished sessions are still there.
    const kept = await primary.db.select().from(uploadSessions).where(eq(uploadSessions.policyId, policy.id));
    expect(kept).toHaveLength(2);

    await primary.db.delete(files).where(eq(files.id, `${policy.id}-file`));
    // A failed upload whose storage cleanup is still owed needs the policy to reach the storage.
    await primary.db
      .update(uploadSessions)
      .set({ cleanupPending: true })
      .where(eq(uploadSessions.id, `${policy.id}-failed`));
    const owed = await primary.fail("DELETE", path);
    expect(owed).toMatchObject({ status: 409, code: "policy_in_use" });
    expect(owed.message).toMatch(/still have data to remove/);
    await primary.db
      .update(uploadSessions)
      .set({ cleanupPending: false })
      .where(eq(uploadSessions.id, `${policy.id}-failed`));
    expect((await primary.call("DELETE", path)).status).toBe(204);
    const left = await primary.db.select().from(uploadSessions).where(eq(uploadSessions.policyId, policy.id));
    expect(left).toEqual([]);
  });

  it("keeps an ingress target of an unenrolled node pending, with the reason, and refuses incomplete s3 fields", async () => {
    const node = await createNode("targets-unenrolled");
    const path = `/api/v1/admin/nodes/${node.id}/ingress-targets`;
    const created = await primary.ok(ingressTargetSchema, "POST", path, {
      name: "default-local",
      driver: "local",
      base_path: ".",
    });
    expect(created).toMatchObject({ state: "pending", is_default: true, base_path: "." });
    expect(created.reason).toMatch(/^node_not_enrolled/);
    const incomplete = await primary.fail("POST", path, { name: "s3", driver: "s3", s3: { bucket: "b" } });
    expect(incomplete).toMatchObject({ status: 400, code: "validation_failed" });
    const unset = await primary.fail("PATCH", `${path}/${created.id}`, { is_default: false });
    expect(unset).toMatchObject({ status: 409, code: "ingress_default_required" });
  });

  it("deletes a node no policy uses, with its ingress targets", async () => {
    const node = await createNode("to-delete");
    const path = `/api/v1/admin/nodes/${node.id}`;
    await primary.ok(ingressTargetSchema, "POST", `${path}/ingress-targets`, {
      name: "t",
      driver: "local",
      base_path: "t",
    });
    expect((await primary.call("DELETE", path)).status).toBe(204);
    expect(await primary.fail("GET", path)).toMatchObject({ status: 404, code: "not_found" });
    expect(await primary.fail("GET", `${path}/ingress-targets`)).toMatchObject({
      status: 404,
      code: "not_found",
    });
  });

  it("refuses every follower-node, ingress and policy route to anonymous callers and non-admins", async () => {
    const routes = [...nodeRoutes, ...ingressTargetRoutes, ...policyRoutes];
    for (const route of routes) {
      const path = route.path.replace(/:(\w+)/g, "x");
      const anonymous = await primary.fail(route.method, path, undefined, { token: null });
      expect(anonymous.status, `${route.method} ${route.path}`).toBe(401);
      const user = await primary.fail(route.method, path, undefined, { token: primary.userToken });
      expect(user.status, `${route.method} ${route.path}`).toBe(403);
    }
  });
});
