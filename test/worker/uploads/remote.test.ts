// Upload sessions against a REAL follower agent process (and s3rver for the small-file policy), the
// primary served over real HTTP: routing by size (tutorial §9), relay single and multipart to the
// follower, presigned single and multipart PUT straight to the agent with fetch, resume after a lost
// part, a follower killed mid-upload and restarted on the same port, abort and expiry cleanup of the
// follower's parts.
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { randomId } from "../../../shared/crypto.ts";
import { ingressTargetSchema } from "../../../worker/api/ingress-targets.ts";
import { enrollmentTokenSchema, nodeSchema, testResultSchema } from "../../../worker/api/nodes.ts";
import { policySchema } from "../../../worker/api/policies.ts";
import type { UploadOut } from "../../../worker/api/uploads.ts";
import {
  files,
  followerNodes,
  policyGroupRules,
  policyGroups,
  uploadParts,
  uploadSessions,
  users,
} from "../../../worker/db/schema.ts";
import { expireUploads } from "../../../worker/uploads/expiry.ts";
import { type AgentProcess, startAgentProcess } from "../../support/agents.ts";
import { bytes, sha256 } from "../../support/bytes.ts";
import { type Primary, startPrimary } from "../../support/http-primary.ts";
import { S3RVER_WIRE_KEY, startS3rver } from "../../support/s3rver.ts";
import { partOf, relayWhole, type UploadClient, uploadClient } from "../../support/upload-client.ts";

const MiB = 1024 * 1024;
type Completed = { upload: UploadOut; file: { id: string; sha256: string; size: number; policy_id: string } };
type PartUrls = {
  urls: { part_number: number; url: string; method: string; headers: Record<string, string> }[];
};

describe("uploads to a real follower agent", () => {
  let primary: Primary;
  let agent: AgentProcess;
  let s3: Awaited<ReturnType<typeof startS3rver>>;
  let relay: UploadClient;
  let presigned: UploadClient;
  const policies = { small: "", remoteRelay: "", remotePresigned: "" };

  beforeAll(async () => {
    primary = await startPrimary();
    s3 = await startS3rver(["small"]);
    const node = await primary.ok(nodeSchema, "POST", "/api/v1/admin/nodes", { name: "Follower 1" });
    const path = `/api/v1/admin/nodes/${node.id}`;
    const { token } = await primary.ok(enrollmentTokenSchema, "POST", `${path}/enrollment-token`, {});
    agent = await startAgentProcess({ primaryUrl: primary.origin, token, advertise: true });
    await primary.ok(z.unknown(), "PATCH", path, { base_url: agent.baseUrl }, 200);
    const tested = await primary.ok(testResultSchema, "POST", `${path}/test`, undefined, 200);
    expect(tested.capabilities.features.browser_presigned_cors).toBe(true);
    const target = await primary.ok(ingressTargetSchema, "POST", `${path}/ingress-targets`, {
      name: "default-local",
      driver: "local",
      base_path: "default",
    });
    expect(target.state).toBe("applied");
    const policy = async (body: Record<string, unknown>) =>
      (await primary.ok(policySchema, "POST", "/api/v1/admin/policies", body)).id;
    policies.small = await policy({
      name: "Small files on S3",
      driver: "s3",
      s3: {
        endpoint: s3.endpoint,
        bucket: "small",
        ...S3RVER_WIRE_KEY,
      },
    });
    policies.remoteRelay = await policy({
      name: "Remote relay",
      driver: "remote",
      node_id: node.id,
      chunk_size: MiB,
    });
    policies.remotePresigned = await policy({
      name: "Remote presigned",
      driver: "remote",
      node_id: node.id,
      chunk_size: MiB,
      upload_mode: "presigned",
    });
    // Tutorial §9: small files (0 to 1 MiB here) to the small-file store, larger ones to the follower.
    const bySize = await group([
      [policies.small, 1, 0, MiB],
      [policies.remoteRelay, 2, MiB, 0],
    ]);
    const allPresigned = await group([[policies.remotePresigned, 1, 0, 0]]);
    const [plain] = await primary.db.select().from(users).where(eq(users.username, "plainuser"));
    const [admin] = await primary.db.select().from(users).where(eq(users.username, "admin"));
    await primary.db.update(users).set({ policyGroupId: bySize }).where(eq(users.id, plain!.id));
    await primary.db.update(users).set({ policyGroupId: allPresigned }).where(eq(users.id, admin!.id));
    const api = (p: string, init?: RequestInit) => fetch(`${primary.origin}${p}`, init);
    relay = uploadClient(api, primary.userToken);
    presigned = uploadClient(api, primary.adminToken);
  });
  afterAll(async () => {
    await agent?.destroy();
    await s3?.stop();
    await primary?.close();
  });

  async function group(rules: [policy: string, priority: number, min: number, max: number][]) {
    const id = randomId();
    await primary.db.insert(policyGroups).values({ id, name: `group-${id}` });
    for (const [policyId, priority, minSize, maxSize] of rules) {
      await primary.db
        .insert(policyGroupRules)
        .values({ id: randomId(), groupId: id, policyId, priority, minSize, maxSize });
    }
    return id;
  }
  /** The bytes the follower committed for a file (local target `default`, no key prefix). */
  const onFollower = async (fileId: string) => {
    const path = join(agent.ingressRoot, "default", "files", fileId);
    return existsSync(path) ? new Uint8Array(await readFile(path)) : null;
  };
  const multipartDirs = async () => readdir(join(agent.dataDir, "multipart")).catch(() => [] as string[]);
  const sessionRow = async (id: string) =>
    (await primary.db.select().from(uploadSessions).where(eq(uploadSessions.id, id)))[0];
  const presignedPut = async (
    url: { url: string; headers: Record<string, string> },
    data: Uint8Array<ArrayBuffer>,
  ) => fetch(url.url, { method: "PUT", headers: url.headers, body: data });

  it("routes by size: a small file lands on the small-file policy, a large one on the follower", async () => {
    const small = bytes(1000, 1);
    const smallUpload = await relay.ok<UploadOut>(
      await relay.init({ name: "small.txt", size: small.length }),
      201,
    );
    expect(smallUpload.policy_id).toBe(policies.small);
    const smallDone = await relayWhole(relay, smallUpload, small);
    expect(smallDone.file).toMatchObject({ policy_id: policies.small, sha256: sha256(small) });
    expect(await onFollower(smallDone.file.id)).toBeNull();

    const large = bytes(MiB, 2);
    const largeUpload = await relay.ok<UploadOut>(
      await relay.init({ name: "large.bin", size: large.length }),
      201,
    );
    expect(largeUpload).toMatchObject({
      policy_id: policies.remoteRelay,
      mode: "relay_stream",
      part_count: 1,
    });
    const largeDone = await relayWhole(relay, largeUpload, large);
    expect(largeDone.file).toMatchObject({ policy_id: policies.remoteRelay, sha256: sha256(large) });
    expect(sha256((await onFollower(largeDone.file.id))!)).toBe(sha256(large));
  });

  it("keeps the policy chosen at init for the file even when the group changes before completion", async () => {
    const data = bytes(2 * MiB, 3);
    const upload = await relay.ok<UploadOut>(await relay.init({ name: "kept.bin", size: data.length }), 201);
    const [plain] = await primary.db.select().from(users).where(eq(users.username, "plainuser"));
    const before = plain!.policyGroupId;
    await primary.db
      .update(users)
      .set({ policyGroupId: await group([[policies.small, 1, 0, 0]]) })
      .where(eq(users.id, plain!.id));
    try {
      const done = await relayWhole(relay, upload, data);
      expect(done.file.policy_id).toBe(policies.remoteRelay);
    } finally {
      await primary.db.update(users).set({ policyGroupId: before }).where(eq(users.id, plain!.id));
    }
  });

  it("relays a file of more than three parts to the follower in parallel, with a retried part, composed there", async () => {
    const data = bytes(4 * MiB + 4321, 4);
    const upload = await relay.ok<UploadOut>(
      await relay.init({ name: "multi.bin", size: data.length, sha256: sha256(data) }),
      201,
    );
    expect(upload).toMatchObject({ part_count: 5, chunk_size: MiB });
    await relay.ok(await relay.putPart(upload.id, 2, bytes(MiB, 77)));
    const done = await relayWhole(relay, upload, data);
    expect(done.file.sha256).toBe(sha256(data));
    expect(sha256((await onFollower(done.file.id))!)).toBe(sha256(data));
    expect(await multipartDirs()).not.toContain((await sessionRow(upload.id))!.multipartId);
  });

  it("uploads a presigned single file straight to the follower as the one part of an upload, composed there", async () => {
    const data = bytes(300 * 1024, 5);
    const upload = await presigned.ok<UploadOut>(
      await presigned.init({ name: "photo.jpg", size: data.length, content_type: "image/jpeg" }),
      201,
    );
    expect(upload).toMatchObject({ mode: "presigned", part_count: 1, part_url_template: null });
    // A small body: a server that refuses before reading closes the connection on a large unread body,
    // and the client, still writing, may see the reset before the answer.
    expect(await presigned.fail(await presigned.putPart(upload.id, 1, data.slice(0, 1024)))).toMatchObject({
      status: 409,
      code: "upload_mode_mismatch",
    });
    const { urls } = await presigned.ok<PartUrls>(await presigned.presign(upload.id, [1]));
    expect(urls[0]!.url.startsWith(agent.baseUrl)).toBe(true);
    // A part URL: the content type was given to the follower's multipart upload at init.
    expect(urls[0]!.url).toContain(`/multipart/${(await sessionRow(upload.id))!.multipartId}/parts/1`);
    expect(urls[0]!.headers).toEqual({});
    const put = await presignedPut(urls[0]!, data);
    expect(put.status).toBe(200);
    // Single use: the same URL cannot write again.
    expect((await presignedPut(urls[0]!, data)).status).toBe(409);
    expect((await presigned.ok<UploadOut>(await presigned.get(upload.id))).parts_received).toEqual([1]);
    const done = await presigned.ok<Completed>(await presigned.complete(upload.id));
    expect(done.file).toMatchObject({ sha256: sha256(data), policy_id: policies.remotePresigned });
    expect(sha256((await onFollower(done.file.id))!)).toBe(sha256(data));
    const download = await fetch(`${primary.origin}/api/v1/spaces/me/files/${done.file.id}/content`, {
      headers: { authorization: `Bearer ${primary.adminToken}` },
    });
    expect(download.headers.get("content-type")).toBe("image/jpeg");
  });

  it("binds a declared SHA-256 into the URL of a single-part file: other bytes are refused, and a spare URL cannot replace the file after completion", async () => {
    const data = bytes(64 * 1024, 21);
    const other = bytes(64 * 1024, 22);
    const upload = await presigned.ok<UploadOut>(
      await presigned.init({ name: "bound.bin", size: data.length, sha256: sha256(data) }),
      201,
    );
    const first = (await presigned.ok<PartUrls>(await presigned.presign(upload.id, [1]))).urls[0]!;
    const spare = (await presigned.ok<PartUrls>(await presigned.presign(upload.id, [1]))).urls[0]!;
    expect(await presigned.fail(await presignedPut(spare, other))).toMatchObject({
      code: "content_digest_mismatch",
    });
    expect((await presignedPut(first, data)).status).toBe(200);
    const done = await presigned.ok<Completed>(await presigned.complete(upload.id));
    // Still within its lifetime, the spare URL takes only the declared bytes.
    const replaced = await presignedPut(spare, other);
    expect(replaced.status).toBeGreaterThanOrEqual(400);
    expect(sha256((await onFollower(done.file.id))!)).toBe(sha256(data));
  });

  it("lets no spare presigned URL change a completed file, also when its SHA-256 was not declared", async () => {
    const data = bytes(64 * 1024, 23);
    const other = bytes(64 * 1024, 24);
    const upload = await presigned.ok<UploadOut>(
      await presigned.init({ name: "undeclared.bin", size: data.length }),
      201,
    );
    const first = (await presigned.ok<PartUrls>(await presigned.presign(upload.id, [1]))).urls[0]!;
    const spare = (await presigned.ok<PartUrls>(await presigned.presign(upload.id, [1]))).urls[0]!;
    expect((await presignedPut(first, data)).status).toBeLessThan(300);
    const done = await presigned.ok<Completed>(await presigned.complete(upload.id));
    expect(done.file.sha256).toBe(sha256(data));
    // Still within its lifetime, the spare URL writes nothing any more.
    expect((await presignedPut(spare, other)).status).toBeGreaterThanOrEqual(400);
    expect(sha256((await onFollower(done.file.id))!)).toBe(sha256(data));
    const download = await fetch(`${primary.origin}/api/v1/spaces/me/files/${done.file.id}/content`, {
      headers: { authorization: `Bearer ${primary.adminToken}` },
    });
    expect(download.status).toBe(200);
    expect(sha256(new Uint8Array(await download.arrayBuffer()))).toBe(done.file.sha256);
  });

  it("uploads presigned parts straight to the follower, resumes after a lost part and completes", async () => {
    const data = bytes(3 * MiB + 100, 6);
    const upload = await presigned.ok<UploadOut>(
      await presigned.init({
        name: "video.bin",
        size: data.length,
        sha256: sha256(data),
        client_id: "browser-1",
      }),
      201,
    );
    expect(upload).toMatchObject({ mode: "presigned", part_count: 4 });
    const first = await presigned.ok<PartUrls>(await presigned.presign(upload.id, [1, 2, 3, 4]));
    // Parts 1 and 3 arrive; the connection is lost before 2 and 4.
    await Promise.all(
      [1, 3].map(async (n) => {
        const url = first.urls.find((u) => u.part_number === n)!;
        expect((await presignedPut(url, partOf(upload, data, n))).status).toBe(200);
      }),
    );
    const [listed] = (await presigned.ok<{ items: UploadOut[] }>(await presigned.list("browser-1"))).items;
    expect(listed).toMatchObject({ id: upload.id, parts_received: [1, 3], missing_parts: [2, 4] });
    expect(await presigned.fail(await presigned.complete(upload.id))).toMatchObject({
      code: "upload_parts_missing",
      details: { missing: [2, 4] },
    });
    const again = await presigned.ok<PartUrls>(await presigned.presign(upload.id, listed!.missing_parts));
    for (const url of again.urls) {
      expect((await presignedPut(url, partOf(upload, data, url.part_number))).status).toBe(200);
    }
    const done = await presigned.ok<Completed>(await presigned.complete(upload.id));
    expect(done.file.sha256).toBe(sha256(data));
    expect(sha256((await onFollower(done.file.id))!)).toBe(sha256(data));
    const retried = await presigned.ok<Completed>(await presigned.complete(upload.id));
    expect(retried.file.id).toBe(done.file.id);
  });

  it("falls back to relay_stream when the follower's last probe no longer shows browser_presigned_cors", async () => {
    const [node] = await primary.db.select().from(followerNodes);
    const good = node!.lastGoodProbeJson!;
    const withoutCors = JSON.parse(good) as { features: Record<string, boolean> };
    withoutCors.features.browser_presigned_cors = false;
    await primary.db
      .update(followerNodes)
      .set({ lastGoodProbeJson: JSON.stringify(withoutCors) })
      .where(eq(followerNodes.id, node!.id));
    try {
      const data = bytes(1000, 10);
      const upload = await presigned.ok<UploadOut>(
        await presigned.init({ name: "fallback.bin", size: data.length }),
        201,
      );
      expect(upload).toMatchObject({ policy_id: policies.remotePresigned, mode: "relay_stream" });
      expect(await presigned.fail(await presigned.presign(upload.id, [1]))).toMatchObject({
        code: "upload_mode_mismatch",
      });
      const done = await relayWhole(presigned, upload, data);
      expect(sha256((await onFollower(done.file.id))!)).toBe(sha256(data));
    } finally {
      await primary.db
        .update(followerNodes)
        .set({ lastGoodProbeJson: good })
        .where(eq(followerNodes.id, node!.id));
    }
  });

  it("refuses a presigned part of the wrong size at the follower", async () => {
    const upload = await presigned.ok<UploadOut>(
      await presigned.init({ name: "short.bin", size: 2 * MiB + 1 }),
      201,
    );
    const { urls } = await presigned.ok<PartUrls>(await presigned.presign(upload.id, [1]));
    const put = await presignedPut(urls[0]!, bytes(1000));
    expect(put.status).toBeGreaterThanOrEqual(400);
    expect((await presigned.ok<UploadOut>(await presigned.get(upload.id))).parts_received).toEqual([]);
  });

  it("survives a follower killed in the middle of an upload: retryable codes, then resume and complete", async () => {
    const data = bytes(4 * MiB, 7);
    const upload = await relay.ok<UploadOut>(
      await relay.init({ name: "crash.bin", size: data.length, sha256: sha256(data) }),
      201,
    );
    await relay.ok(await relay.putPart(upload.id, 1, partOf(upload, data, 1)));
    // Part 2 is streaming when the follower dies.
    const part2 = partOf(upload, data, 2);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slow = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(part2.slice(0, 64 * 1024));
        await gate;
        controller.enqueue(part2.slice(64 * 1024));
        controller.close();
      },
    });
    const inFlight = relay.putPart(upload.id, 2, slow, { "content-length": String(part2.length) });
    // Wait until the primary holds the claim on part 2 (the stream reaches the follower).
    for (;;) {
      const parts = await primary.db
        .select()
        .from(uploadParts)
        .where(and(eq(uploadParts.sessionId, upload.id), eq(uploadParts.partNumber, 2)));
      if (parts[0]?.state === "uploading") break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await agent.kill();
    release();
    const cut = await relay.fail(await inFlight);
    expect([502, 504]).toContain(cut.status);
    expect(["follower_unreachable", "follower_timeout", "storage_unavailable"]).toContain(cut.code);
    expect((await sessionRow(upload.id))!.state).toBe("open");
    // Nothing partial anywhere: no file record, nothing at the final key on the follower.
    expect(await primary.db.select().from(files).where(eq(files.name, "crash.bin"))).toEqual([]);
    expect(await onFollower((await sessionRow(upload.id))!.fileId!)).toBeNull();

    await agent.restart();
    const status = await relay.ok<UploadOut>(await relay.get(upload.id));
    expect(status.missing_parts).toEqual([2, 3, 4]);
    for (const n of status.missing_parts)
      await relay.ok(await relay.putPart(upload.id, n, partOf(upload, data, n)));

    // Down again at completion: retryable, the session stays open and no file appears.
    await agent.kill();
    const refused = await relay.fail(await relay.complete(upload.id));
    expect(refused).toMatchObject({ status: 502, code: "follower_unreachable" });
    expect((await sessionRow(upload.id))!.state).toBe("open");
    expect(await primary.db.select().from(files).where(eq(files.name, "crash.bin"))).toEqual([]);
    expect(await onFollower((await sessionRow(upload.id))!.fileId!)).toBeNull();

    await agent.restart();
    const done = await relay.ok<Completed>(await relay.complete(upload.id));
    expect(done.file.sha256).toBe(sha256(data));
    expect(sha256((await onFollower(done.file.id))!)).toBe(sha256(data));
  });

  it("fails a session whose composed file does not match the declared SHA-256, says why, keeps nothing", async () => {
    const data = bytes(2 * MiB + 3, 11);
    const upload = await relay.ok<UploadOut>(
      await relay.init({ name: "liar.bin", size: data.length, sha256: sha256(bytes(2 * MiB + 3, 12)) }),
      201,
    );
    for (let n = 1; n <= upload.part_count; n++)
      await relay.ok(await relay.putPart(upload.id, n, partOf(upload, data, n)));
    const multipartId = (await sessionRow(upload.id))!.multipartId!;
    const refused = await relay.fail(await relay.complete(upload.id));
    expect(refused).toMatchObject({ status: 400, code: "content_digest_mismatch" });
    const after = await relay.ok<UploadOut>(await relay.get(upload.id));
    expect(after).toMatchObject({
      state: "failed",
      failure: { code: "content_digest_mismatch" },
      file_id: null,
    });
    expect(await relay.fail(await relay.complete(upload.id))).toMatchObject({
      status: 409,
      code: "upload_closed",
    });
    expect(await multipartDirs()).not.toContain(multipartId);
    expect(await onFollower((await sessionRow(upload.id))!.fileId!)).toBeNull();
    expect(await primary.db.select().from(files).where(eq(files.name, "liar.bin"))).toEqual([]);
  });

  it("aborts a multipart upload and its parts disappear from the follower", async () => {
    const data = bytes(3 * MiB, 8);
    const upload = await relay.ok<UploadOut>(
      await relay.init({ name: "aborted.bin", size: data.length }),
      201,
    );
    await relay.ok(await relay.putPart(upload.id, 1, partOf(upload, data, 1)));
    const multipartId = (await sessionRow(upload.id))!.multipartId!;
    expect(await multipartDirs()).toContain(multipartId);
    expect((await relay.abort(upload.id)).status).toBe(204);
    expect(await multipartDirs()).not.toContain(multipartId);
    expect(await sessionRow(upload.id)).toMatchObject({ state: "aborted", cleanupPending: false });
  });

  it("expires a forgotten upload: the scheduled task removes its parts from the follower and the session", async () => {
    const data = bytes(2 * MiB + 5, 9);
    const upload = await presigned.ok<UploadOut>(
      await presigned.init({ name: "forgotten.bin", size: data.length }),
      201,
    );
    const { urls } = await presigned.ok<PartUrls>(await presigned.presign(upload.id, [1]));
    expect((await presignedPut(urls[0]!, partOf(upload, data, 1))).status).toBe(200);
    const multipartId = (await sessionRow(upload.id))!.multipartId!;
    expect(await multipartDirs()).toContain(multipartId);
    const services = primary.services();
    const later = new Date(Date.now() + 25 * 3600 * 1000);
    await expireUploads({ ...services, now: () => later });
    expect(await multipartDirs()).not.toContain(multipartId);
    expect(await sessionRow(upload.id)).toBeUndefined();
  });
});
