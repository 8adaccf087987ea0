// Downloads, the admin storage check and purges against a REAL follower agent process (the primary
// served over HTTP): relayed ranges from the follower, presigned redirects to the follower, a follower
// that is down answering 502 storage_unavailable, and a purge retried until the follower is back.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { randomId, sha256Hex } from "../../../shared/crypto.ts";
import { ingressTargetSchema } from "../../../worker/api/ingress-targets.ts";
import { enrollmentTokenSchema, nodeDetailsSchema, nodeSchema } from "../../../worker/api/nodes.ts";
import { policySchema } from "../../../worker/api/policies.ts";
import { pendingObjectDeletions, shares, storagePolicies, users } from "../../../worker/db/schema.ts";
import { createFileRecord, type FileRow, fileStorageKey } from "../../../worker/files/records.ts";
import { fileTasks } from "../../../worker/files/scheduled.ts";
import { driverForPolicy } from "../../../worker/storage/factory.ts";
import { type AgentProcess, startAgentProcess } from "../../support/agents.ts";
import { streamOf } from "../../support/bytes.ts";
import { type Primary, startPrimary } from "../../support/http-primary.ts";

describe("files on a real follower", () => {
  let primary: Primary;
  let agent: AgentProcess;
  let userId: string;
  let nodeId: string;
  const policies = { relay: "", presigned: "" };

  beforeAll(async () => {
    primary = await startPrimary();
    const node = await primary.ok(nodeSchema, "POST", "/api/v1/admin/nodes", { name: "Follower files" });
    nodeId = node.id;
    const path = `/api/v1/admin/nodes/${node.id}`;
    const { token } = await primary.ok(enrollmentTokenSchema, "POST", `${path}/enrollment-token`, {});
    agent = await startAgentProcess({ primaryUrl: primary.origin, token, advertise: true });
    await primary.ok(z.unknown(), "PATCH", path, { base_url: agent.baseUrl }, 200);
    await primary.ok(z.unknown(), "POST", `${path}/test`, undefined, 200);
    const target = await primary.ok(ingressTargetSchema, "POST", `${path}/ingress-targets`, {
      name: "default-local",
      driver: "local",
      base_path: "default",
    });
    expect(target.state).toBe("applied");
    const policy = async (body: Record<string, unknown>) =>
      (await primary.ok(policySchema, "POST", "/api/v1/admin/policies", body)).id;
    policies.relay = await policy({ name: "Remote relay files", driver: "remote", node_id: node.id });
    policies.presigned = await policy({
      name: "Remote presigned files",
      driver: "remote",
      node_id: node.id,
      download_mode: "presigned",
    });
    const [plain] = await primary.db.select().from(users).where(eq(users.username, "plainuser"));
    if (!plain) throw new Error("plainuser missing");
    userId = plain.id;
  });
  afterAll(async () => {
    await agent?.destroy();
    await primary?.close();
  });

  /** Writes bytes to the follower through the policy's driver and records the file. */
  async function storeOnFollower(
    policyId: string,
    name: string,
    bytes: Uint8Array<ArrayBuffer>,
  ): Promise<FileRow> {
    const services = primary.services();
    const [policy] = await primary.db.select().from(storagePolicies).where(eq(storagePolicies.id, policyId));
    if (!policy) throw new Error("policy missing");
    const id = randomId();
    const driver = await driverForPolicy(services, policy);
    const put = await driver.put(fileStorageKey(id), streamOf(bytes), { size: bytes.byteLength });
    return createFileRecord(services, {
      id,
      space: { kind: "user", id: userId },
      folderId: null,
      name,
      size: bytes.byteLength,
      sha256: await sha256Hex(bytes),
      policyId,
      storageKey: fileStorageKey(id),
      location: put.location,
      createdBy: userId,
    });
  }
  const user = (method: string, p: string, headers: Record<string, string> = {}) =>
    fetch(`${primary.origin}/api/v1/spaces/me${p}`, {
      method,
      headers: { authorization: `Bearer ${primary.userToken}`, ...headers },
      redirect: "manual",
    });
  const onFollower = (file: FileRow) => join(agent.ingressRoot, "default", "files", file.id);
  const text = (s: string) => new TextEncoder().encode(s);

  it("relays whole and ranged downloads from the follower, and the admin check sees the object", async () => {
    const file = await storeOnFollower(policies.relay, "far.txt", text("bytes on the follower"));
    expect(existsSync(onFollower(file))).toBe(true);
    const whole = await user("GET", `/files/${file.id}/content`);
    expect(whole.status).toBe(200);
    expect(await whole.text()).toBe("bytes on the follower");
    const ranged = await user("GET", `/files/${file.id}/content`, { range: "bytes=6-7" });
    expect(ranged.status).toBe(206);
    expect(ranged.headers.get("content-range")).toBe("bytes 6-7/21");
    expect(await ranged.text()).toBe("on");

    const check = await primary.ok(z.any(), "GET", `/api/v1/admin/files/${file.id}/storage`, undefined, 200);
    expect(check.object).toMatchObject({ exists: true, size: 21 });
    expect(check.policy).toMatchObject({ id: policies.relay, driver: "remote" });
    expect(check.file.location).toBe(file.location);
    expect(check.file.location).not.toBeNull();
  });

  it("redirects to a presigned follower URL when the policy says presigned", async () => {
    const file = await storeOnFollower(policies.presigned, "direct.txt", text("straight from the follower"));
    const response = await user("GET", `/files/${file.id}/content`);
    expect(response.status).toBe(302);
    const location = response.headers.get("location") ?? "";
    expect(location.startsWith(agent.baseUrl)).toBe(true);
    const direct = await fetch(location, { headers: { range: "bytes=0-7" } });
    expect(direct.status).toBe(206);
    expect(await direct.text()).toBe("straight");
  });

  it("answers 502 storage_unavailable while the follower is down, and retries a purge until it is back", async () => {
    const file = await storeOnFollower(policies.relay, "doomed.txt", text("delete me later"));
    expect((await user("DELETE", `/files/${file.id}`)).status).toBe(204);
    await agent.kill();
    try {
      const restored = await user("POST", `/trash/files/${file.id}/restore`);
      expect(restored.status).toBe(200);
      const download = await user("GET", `/files/${file.id}/content`);
      expect(download.status).toBe(502);
      expect(((await download.json()) as { error: { code: string } }).error.code).toBe("storage_unavailable");
      // A share download that fails on the storage does not use up the link's downloads.
      const created = await fetch(`${primary.origin}/api/v1/spaces/me/shares`, {
        method: "POST",
        headers: { authorization: `Bearer ${primary.userToken}`, "content-type": "application/json" },
        body: JSON.stringify({ file_id: file.id, max_downloads: 1 }),
      });
      const { token, share } = (await created.json()) as { token: string; share: { id: string } };
      const publicDownload = await fetch(`${primary.origin}/api/v1/public/shares/${token}/content`);
      expect(publicDownload.status).toBe(502);
      await publicDownload.body?.cancel();
      const [row] = await primary.db.select().from(shares).where(eq(shares.id, share.id));
      expect(row?.downloadCount).toBe(0);
      const check = await primary.fail("GET", `/api/v1/admin/files/${file.id}/storage`);
      expect([check.status, check.code]).toEqual([502, "storage_unavailable"]);
      // The node's page shows the failed transfers (tutorial §11), a burst of the same one only once.
      const details = await primary.ok(nodeDetailsSchema, "GET", `/api/v1/admin/nodes/${nodeId}`);
      const transfers = details.recent_events.filter((e) => e.kind === "transfer");
      expect(transfers.map((e) => [e.level, e.message])).toContainEqual([
        "error",
        "download: follower_unreachable: The follower could not be reached.",
      ]);
      expect(transfers.filter((e) => e.message.startsWith("download:"))).toHaveLength(1);

      expect((await user("DELETE", `/files/${file.id}`)).status).toBe(204);
      expect((await user("DELETE", `/trash/files/${file.id}`)).status).toBe(204);
      const [pending] = await primary.db
        .select()
        .from(pendingObjectDeletions)
        .where(eq(pendingObjectDeletions.storageKey, file.storageKey));
      expect(pending).toMatchObject({
        attempts: 1,
        lastError: "follower_unreachable",
        policyId: policies.relay,
      });
      expect((await user("GET", `/files/${file.id}`)).status).toBe(404);
    } finally {
      await agent.restart();
    }
    expect(existsSync(onFollower(file))).toBe(true);
    const task = fileTasks.find((t) => t.name === "purge_pending_objects");
    if (!task) throw new Error("purge_pending_objects task missing");
    // Not due yet: the back-off keeps it queued.
    await task.run(primary.services());
    expect(existsSync(onFollower(file))).toBe(true);
    const later = { ...primary.services(), now: () => new Date(Date.now() + 10 * 60_000) };
    await task.run(later);
    expect(existsSync(onFollower(file))).toBe(false);
    const left = await primary.db
      .select()
      .from(pendingObjectDeletions)
      .where(eq(pendingObjectDeletions.storageKey, file.storageKey));
    expect(left).toEqual([]);
  });
});
