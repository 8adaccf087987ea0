// Moving files between storage policies over REAL follower agent processes and s3rver, the primary
// over real HTTP on a libSQL file: a drain of one follower onto another goes by pull (the primary
// carries nothing), onto an S3 policy through the primary; files keep id, name, SHA-256, ETag and
// share links; old objects leave through the owed-cleanup machinery; refusals, pause/resume/cancel,
// a target follower that is down, and trash/rename/restore/purge racing the switch.
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { eq, inArray } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { randomId } from "../../shared/crypto.ts";
import { ingressTargetSchema } from "../../worker/api/ingress-targets.ts";
import { moveJobSchema, movePlanSchema, moveRequestBody, toMoveRequest } from "../../worker/api/moves.ts";
import { enrollmentTokenSchema, nodeSchema } from "../../worker/api/nodes.ts";
import { policySchema } from "../../worker/api/policies.ts";
import type { UploadOut } from "../../worker/api/uploads.ts";
import {
  files,
  moveItems,
  moveJobs,
  pendingObjectDeletions,
  storagePolicies,
} from "../../worker/db/schema.ts";
import { deletePendingObjects } from "../../worker/files/purge.ts";
import { createMoveJob } from "../../worker/moves/jobs.ts";
import { type MoveHooks, runMoves } from "../../worker/moves/runner.ts";
import { type AgentProcess, startAgentProcess } from "../support/agents.ts";
import { bytes, sha256 } from "../support/bytes.ts";
import { bindUserToPolicy } from "../support/groups.ts";
import { type Primary, startPrimary } from "../support/http-primary.ts";
import { S3RVER_KEY, startS3rver } from "../support/s3rver.ts";
import { partOf, relayWhole, type UploadClient, uploadClient } from "../support/upload-client.ts";

const MiB = 1024 * 1024;
type Job = z.output<typeof moveJobSchema>;

interface Follower {
  nodeId: string;
  policyId: string;
  agent: AgentProcess;
  /** The directory of its default (local) ingress target. */
  store: string;
}

interface Stored {
  id: string;
  name: string;
  data: Uint8Array<ArrayBuffer>;
  sha256: string;
}

/** Every file under dir, relative to it (objects, and the store's own .flotilla/ entries). */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name)));
}

/** The objects a local ingress target holds (not its metadata and staging under .flotilla/). */
async function objectsUnder(dir: string): Promise<string[]> {
  return (await filesUnder(dir)).filter((path) => !path.startsWith(".flotilla/"));
}

describe("moving files between storage policies", () => {
  let primary: Primary;
  let a: Follower;
  let b: Follower;
  let s3: Awaited<ReturnType<typeof startS3rver>>;
  let s3PolicyId: string;
  let user: UploadClient;
  /** Files the S3 move left on the bucket, for the move back onto a follower. */
  const onS3: Stored[] = [];

  async function addFollower(name: string): Promise<Follower> {
    const node = await primary.ok(nodeSchema, "POST", "/api/v1/admin/nodes", { name });
    const path = `/api/v1/admin/nodes/${node.id}`;
    const { token } = await primary.ok(enrollmentTokenSchema, "POST", `${path}/enrollment-token`, {});
    const agent = await startAgentProcess({ primaryUrl: primary.origin, token, advertise: true });
    await primary.ok(z.unknown(), "PATCH", path, { base_url: agent.baseUrl }, 200);
    await primary.ok(z.unknown(), "POST", `${path}/test`, undefined, 200);
    const target = await primary.ok(ingressTargetSchema, "POST", `${path}/ingress-targets`, {
      name: "store",
      driver: "local",
      base_path: "store",
    });
    expect(target.state).toBe("applied");
    // Probed again so the last good probe lists the target's free space.
    await primary.ok(z.unknown(), "POST", `${path}/test`, undefined, 200);
    const policy = await primary.ok(policySchema, "POST", "/api/v1/admin/policies", {
      name: `${name} relay`,
      driver: "remote",
      node_id: node.id,
      chunk_size: MiB,
    });
    return { nodeId: node.id, policyId: policy.id, agent, store: join(agent.ingressRoot, "store") };
  }

  async function upload(
    name: string,
    size: number,
    folderId: string | null = null,
    data = bytes(size, size + name.length),
  ): Promise<Stored> {
    const digest = sha256(data);
    const upload = await user.ok<UploadOut>(
      await user.init({ name, size, sha256: digest, folder_id: folderId }),
      201,
    );
    if (upload.part_count > 8) {
      // A large file's parts go one after another (all at once would be hundreds of connections).
      for (let n = 1; n <= upload.part_count; n++)
        await user.ok(await user.putPart(upload.id, n, partOf(upload, data, n)));
    }
    const { file } =
      upload.part_count > 8
        ? await user.ok<{ file: { id: string; sha256: string; policy_id: string } }>(
            await user.complete(upload.id),
          )
        : await relayWhole(user, upload, data);
    expect(file.policy_id).toBe(a.policyId);
    return { id: file.id, name, data, sha256: file.sha256 };
  }

  async function folder(name: string): Promise<string> {
    const created = await user.ok<{ id: string }>(
      await user.json("POST", "/api/v1/spaces/me/folders", { name: `${name}-${randomId().slice(0, 6)}` }),
      201,
    );
    return created.id;
  }

  async function download(path: string): Promise<{ sha256: string; etag: string | null }> {
    const response = await fetch(`${primary.origin}${path}`, {
      headers: { authorization: `Bearer ${primary.userToken}` },
    });
    expect(response.status, path).toBe(200);
    const body = new Uint8Array(await response.arrayBuffer());
    return { sha256: sha256(body), etag: response.headers.get("etag") };
  }

  const fileOf = async (id: string) => (await primary.db.select().from(files).where(eq(files.id, id)))[0];
  const job = (id: string) => primary.ok(moveJobSchema, "GET", `/api/v1/admin/moves/${id}`);

  /** Runs the job's batches until it leaves `running` (each run is bounded; a test counts runs, not time). */
  async function runToEnd(id: string, hooks?: MoveHooks): Promise<Job> {
    await primary.settle();
    for (let run = 0; run < 20; run++) {
      const current = await job(id);
      if (current.state !== "running") return current;
      await runMoves(primary.services(), { jobId: id, budgetMs: 60_000, hooks });
      await primary.settle();
    }
    throw new Error(`job ${id} still running after 20 runs: ${JSON.stringify(await job(id))}`);
  }

  /** The grace the old objects wait out (downloads already handed their location) has passed. */
  async function graceElapsed(): Promise<void> {
    await primary.db.update(pendingObjectDeletions).set({ nextAttemptAt: new Date(0) });
    await deletePendingObjects(primary.services());
  }

  beforeAll(async () => {
    s3 = await startS3rver(["moves"]);
    primary = await startPrimary({ libsqlServer: true });
    a = await addFollower("Source follower");
    b = await addFollower("Target follower");
    const s3Policy = await primary.ok(policySchema, "POST", "/api/v1/admin/policies", {
      name: "Bucket",
      driver: "s3",
      s3: {
        endpoint: s3.endpoint,
        bucket: "moves",
        access_key_id: S3RVER_KEY.accessKeyId,
        secret_access_key: S3RVER_KEY.secretAccessKey,
      },
    });
    s3PolicyId = s3Policy.id;
    await bindUserToPolicy(primary.db, { username: "plainuser" }, a.policyId);
    user = uploadClient((p, init) => fetch(`${primary.origin}${p}`, init), primary.userToken);
  }, 120_000);

  afterAll(async () => {
    await a?.agent.destroy();
    await b?.agent.destroy();
    await primary?.close();
    await s3?.stop();
  });

  it("drains a follower onto a second follower by pull: same ids, SHA-256, ETags and share links, nothing through the primary, the source emptied by cleanup", async () => {
    const stored = [
      await upload("empty.txt", 0),
      await upload("one.bin", 1),
      await upload("small.bin", 200 * 1024),
      await upload("multipart.bin", 3 * MiB + 17),
    ];
    const big = stored[3]!;
    const before = await download(`/api/v1/spaces/me/files/${big.id}/content`);
    const share = await user.ok<{ token: string }>(
      await user.json("POST", "/api/v1/spaces/me/shares", { file_id: big.id }),
      201,
    );
    const request = { source: { kind: "node", node_id: a.nodeId }, target_policy_id: b.policyId };

    const plan = await primary.ok(movePlanSchema, "POST", "/api/v1/admin/moves/dry-run", request, 200);
    const total = stored.reduce((n, s) => n + s.data.length, 0);
    expect(plan).toMatchObject({ files: 4, bytes: total, movable: { files: 4, bytes: total }, blocked: [] });
    expect(plan.path).toBe("pull");
    expect(plan.space.needed_bytes).toBe(total);
    expect(plan.space.free_bytes).toBeGreaterThan(total);
    expect(plan.space.enough).toBe(true);

    const created = await primary.ok(moveJobSchema, "POST", "/api/v1/admin/moves", request);
    expect(created.progress.total).toEqual({ files: 4, bytes: total });
    const done = await runToEnd(created.id);
    expect(done.state).toBe("completed");
    expect(done.progress.done).toEqual({ files: 4, bytes: total });
    expect(done.progress.failed.files).toBe(0);
    expect(done.failures).toEqual([]);
    expect(done.bytes_relayed).toBe(0);
    const paths = await primary.db
      .select({ path: moveItems.path })
      .from(moveItems)
      .where(eq(moveItems.jobId, created.id));
    expect(paths.map((p) => p.path)).toEqual(["pull", "pull", "pull", "pull"]);

    for (const s of stored) {
      const row = await fileOf(s.id);
      expect(row).toMatchObject({ id: s.id, name: s.name, policyId: b.policyId, sha256: s.sha256 });
      const got = await download(`/api/v1/spaces/me/files/${s.id}/content`);
      expect(got.sha256).toBe(sha256(s.data));
    }
    expect((await download(`/api/v1/spaces/me/files/${big.id}/content`)).etag).toBe(before.etag);
    const shared = await fetch(`${primary.origin}/api/v1/public/shares/${share.token}/content`);
    expect(shared.status).toBe(200);
    expect(sha256(new Uint8Array(await shared.arrayBuffer()))).toBe(big.sha256);

    // The old objects wait out the grace for downloads already under way, then go.
    expect(await objectsUnder(a.store)).toHaveLength(4);
    await graceElapsed();
    expect(await filesUnder(a.store)).toEqual([]);
    expect(await objectsUnder(b.store)).toHaveLength(4);
  }, 120_000);

  it("moves a follower's files onto an S3 policy through the primary, streamed, when the bucket cannot pull", async () => {
    const dir = await folder("to-s3");
    const stored = [await upload("a.bin", 64 * 1024, dir), await upload("b.bin", 2 * MiB + 3, dir)];
    const outside = await upload("outside.bin", 1000);
    const request = {
      source: { kind: "policy", policy_id: a.policyId },
      target_policy_id: s3PolicyId,
      scope: { kind: "folder", id: dir },
    };
    const plan = await primary.ok(movePlanSchema, "POST", "/api/v1/admin/moves/dry-run", request, 200);
    const total = stored.reduce((n, s) => n + s.data.length, 0);
    expect(plan).toMatchObject({
      files: 2,
      bytes: total,
      path: "relay",
      space: { free_bytes: null, enough: null },
    });
    const created = await primary.ok(moveJobSchema, "POST", "/api/v1/admin/moves", request);
    const done = await runToEnd(created.id);
    expect(done).toMatchObject({
      state: "completed",
      bytes_relayed: total,
      progress: { done: { files: 2, bytes: total } },
    });
    for (const s of stored) {
      expect((await fileOf(s.id))?.policyId).toBe(s3PolicyId);
      expect((await download(`/api/v1/spaces/me/files/${s.id}/content`)).sha256).toBe(s.sha256);
    }
    expect((await fileOf(outside.id))?.policyId).toBe(a.policyId);
    onS3.push(...stored);
  }, 120_000);

  it("moves an S3 policy's files onto a follower by pull: the follower fetches from the bucket's presigned URL, nothing through the primary", async () => {
    expect(onS3).toHaveLength(2);
    const request = { source: { kind: "policy", policy_id: s3PolicyId }, target_policy_id: b.policyId };
    const plan = await primary.ok(movePlanSchema, "POST", "/api/v1/admin/moves/dry-run", request, 200);
    const total = onS3.reduce((n, s) => n + s.data.length, 0);
    expect(plan).toMatchObject({ files: 2, bytes: total, path: "pull", blocked: [] });
    const created = await primary.ok(moveJobSchema, "POST", "/api/v1/admin/moves", request);
    const done = await runToEnd(created.id);
    expect(done).toMatchObject({
      state: "completed",
      bytes_relayed: 0,
      progress: { done: { files: 2, bytes: total } },
    });
    const paths = await primary.db
      .select({ path: moveItems.path })
      .from(moveItems)
      .where(eq(moveItems.jobId, created.id));
    expect(paths.map((p) => p.path)).toEqual(["pull", "pull"]);
    for (const s of onS3) {
      const row = await fileOf(s.id);
      expect(row).toMatchObject({ policyId: b.policyId, sha256: s.sha256 });
      expect((await download(`/api/v1/spaces/me/files/${s.id}/content`)).sha256).toBe(s.sha256);
      // On the target follower's disk, whole.
      const onDisk = (await objectsUnder(b.store)).find((path) => path.endsWith(row!.storageKey));
      expect(onDisk, `${row!.storageKey} on the target follower`).toBeDefined();
      expect(sha256(new Uint8Array(await readFile(join(b.store, onDisk!))))).toBe(s.sha256);
    }
  }, 120_000);

  it("refuses a target equal to the source, two jobs over the same files, and shows files over the target's limit in the dry run", async () => {
    const same = await primary.fail("POST", "/api/v1/admin/moves/dry-run", {
      source: { kind: "policy", policy_id: a.policyId },
      target_policy_id: a.policyId,
    });
    expect(same).toMatchObject({ status: 409, code: "move_same_target" });
    const ontoDrained = await primary.fail("POST", "/api/v1/admin/moves", {
      source: { kind: "node", node_id: a.nodeId },
      target_policy_id: a.policyId,
    });
    expect(ontoDrained.code).toBe("move_same_target");
    const missing = await primary.fail("POST", "/api/v1/admin/moves/dry-run", {
      source: { kind: "policy", policy_id: a.policyId },
      target_policy_id: "no-such-policy",
    });
    expect(missing).toMatchObject({ status: 404, code: "not_found" });

    const dir = await folder("limits");
    await upload("small.bin", 500, dir);
    const large = await upload("large.bin", 5000, dir);
    const small = await primary.ok(policySchema, "POST", "/api/v1/admin/policies", {
      name: "Target, small files only",
      driver: "remote",
      node_id: b.nodeId,
      max_file_size: 1000,
    });
    const request = {
      source: { kind: "policy", policy_id: a.policyId },
      target_policy_id: small.id,
      scope: { kind: "folder", id: dir },
    };
    const plan = await primary.ok(movePlanSchema, "POST", "/api/v1/admin/moves/dry-run", request, 200);
    expect(plan.movable).toEqual({ files: 1, bytes: 500 });
    expect(plan.blocked).toEqual([
      {
        reason: "over_target_limit",
        files: 1,
        bytes: 5000,
        examples: [{ file_id: large.id, name: "large.bin", size: 5000 }],
      },
    ]);

    const first = await createMoveJob(primary.services(), toRequest(request), "admin");
    const second = await primary.fail("POST", "/api/v1/admin/moves", {
      ...request,
      target_policy_id: b.policyId,
    });
    expect(second).toMatchObject({ status: 409, code: "move_conflict" });
    const busy = await primary.ok(
      movePlanSchema,
      "POST",
      "/api/v1/admin/moves/dry-run",
      { ...request, target_policy_id: b.policyId },
      200,
    );
    expect(busy.blocked).toMatchObject([{ reason: "in_other_move", files: 2 }]);

    const done = await runToEnd(first.id);
    expect(done.state).toBe("completed");
    expect(done.progress.done.files).toBe(1);
    expect(done.failures).toMatchObject([
      { file_id: large.id, name: "large.bin", code: "over_target_limit" },
    ]);
    expect((await fileOf(large.id))?.policyId).toBe(a.policyId);
    expect((await download(`/api/v1/spaces/me/files/${large.id}/content`)).sha256).toBe(large.sha256);
  }, 120_000);

  it("pauses, resumes and cancels; a policy being emptied takes no new uploads until its job ends", async () => {
    const dir = await folder("control");
    const stored = [await upload("x.bin", 10_000, dir), await upload("y.bin", 20_000, dir)];
    const whole = {
      source: { kind: "policy", policy_id: a.policyId },
      target_policy_id: b.policyId,
    } as const;
    const resolution = () =>
      primary.call("GET", `/api/v1/admin/policy-resolution?space=personal&user_id=u-plainuser&size=100`);

    // A whole-policy job (created without its first run) makes resolution skip the policy.
    const draining = await createMoveJob(primary.services(), toRequest(whole), "admin");
    const refused = await resolution();
    expect(refused.status).toBe(422);
    expect(JSON.stringify(await refused.json())).toContain('"reason":"draining"');
    const paused = await primary.ok(
      moveJobSchema,
      "POST",
      `/api/v1/admin/moves/${draining.id}/pause`,
      {},
      200,
    );
    expect(paused.state).toBe("paused");
    expect(await runMoves(primary.services(), { jobId: draining.id, budgetMs: 10_000 })).toMatchObject({
      jobs: 0,
    });
    expect((await resolution()).status).toBe(422);
    const cancelled = await primary.ok(
      moveJobSchema,
      "POST",
      `/api/v1/admin/moves/${draining.id}/cancel`,
      {},
      200,
    );
    expect(cancelled.state).toBe("cancelled");
    expect(cancelled.progress.cancelled.files).toBeGreaterThanOrEqual(2);
    expect(cancelled.progress.done.files).toBe(0);
    expect((await resolution()).status).toBe(200);
    for (const s of stored) expect((await fileOf(s.id))?.policyId).toBe(a.policyId);
    const closed = await primary.fail("POST", `/api/v1/admin/moves/${draining.id}/resume`, {});
    expect(closed).toMatchObject({ status: 409, code: "move_job_closed" });

    // The same files may move in a new job once the old one is cancelled; resume starts it again.
    const request = { ...whole, scope: { kind: "folder", id: dir } };
    const again = await createMoveJob(primary.services(), toRequest(request), "admin");
    await primary.ok(moveJobSchema, "POST", `/api/v1/admin/moves/${again.id}/pause`, {}, 200);
    const resumed = await primary.ok(
      moveJobSchema,
      "POST",
      `/api/v1/admin/moves/${again.id}/resume`,
      {},
      200,
    );
    expect(resumed.state).toBe("running");
    const done = await runToEnd(again.id);
    expect(done.progress.done).toEqual({ files: 2, bytes: 30_000 });
    expect(done.progress.run_seconds).toBeGreaterThan(0);
    for (const s of stored) expect((await fileOf(s.id))?.policyId).toBe(b.policyId);
  }, 120_000);

  it.each([
    ["target", 3000],
    ["source", 4000],
  ] as const)(
    "a %s follower that is down makes files wait, never fail; they move once it is back",
    async (side, small) => {
      const dir = await folder(`${side}-down`);
      const stored = [await upload(`${side}1.bin`, small, dir), await upload(`${side}2.bin`, MiB + 1, dir)];
      const request = toRequest({
        source: { kind: "policy", policy_id: a.policyId },
        target_policy_id: b.policyId,
        scope: { kind: "folder", id: dir },
      });
      const down = side === "target" ? b.agent : a.agent;
      await down.kill();
      const created = await createMoveJob(primary.services(), request, "admin");
      const report = await runMoves(primary.services(), { jobId: created.id, budgetMs: 30_000 });
      expect(report.failed).toBe(0);
      expect(report.waiting).toBeGreaterThan(0);
      const waiting = await job(created.id);
      expect(waiting).toMatchObject({ state: "running", progress: { failed: { files: 0 } } });
      expect(waiting.progress.waiting.files).toBeGreaterThan(0);
      for (const s of stored) {
        expect((await fileOf(s.id))?.policyId).toBe(a.policyId);
        // With only the target down, the files still download from where they are.
        if (side === "target") {
          expect((await download(`/api/v1/spaces/me/files/${s.id}/content`)).sha256).toBe(s.sha256);
        }
      }
      await down.restart();
      // The back-off has run out.
      await primary.db
        .update(moveItems)
        .set({ nextAttemptAt: new Date(0) })
        .where(eq(moveItems.jobId, created.id));
      const done = await runToEnd(created.id);
      expect(done.progress.done.files).toBe(2);
      for (const s of stored) {
        expect((await fileOf(s.id))?.policyId).toBe(b.policyId);
        expect((await download(`/api/v1/spaces/me/files/${s.id}/content`)).sha256).toBe(s.sha256);
      }
    },
    120_000,
  );

  it("a source object whose bytes no longer match the file's SHA-256 is never switched: reported, the file left where it was, nothing kept on the target", async () => {
    const dir = await folder("corrupt");
    const good = bytes(300 * 1024, 77);
    const stored = await upload("rotted.bin", good.length, dir, good);
    const row = await fileOf(stored.id);
    const onSource = (await objectsUnder(a.store)).find((path) => path.endsWith(row!.storageKey));
    expect(onSource).toBeDefined();
    // Bit rot on the source disk: same size, other bytes.
    const rotted = Buffer.from(good);
    rotted[1000] = (rotted[1000]! + 1) % 256;
    await writeFile(join(a.store, onSource!), rotted);
    const before = await objectsUnder(b.store);
    const created = await createMoveJob(
      primary.services(),
      toRequest({
        source: { kind: "policy", policy_id: a.policyId },
        target_policy_id: b.policyId,
        scope: { kind: "folder", id: dir },
      }),
      "admin",
    );
    const done = await runToEnd(created.id);
    expect(done.progress.done.files).toBe(0);
    expect(done.progress.failed.files).toBe(1);
    expect(done.failures?.[0]).toMatchObject({ file_id: stored.id });
    expect(JSON.stringify(done.failures?.[0])).toMatch(/sha-?256|digest/i);
    expect((await fileOf(stored.id))?.policyId).toBe(a.policyId);
    expect(await objectsUnder(b.store)).toEqual(before);
    await writeFile(join(a.store, onSource!), good);
  }, 120_000);

  it("the target follower killed in the middle of a pull: the file stays where it was, the partial object is cleaned up, and it is retried", async () => {
    const data = bytes(64 * MiB + 7, 5);
    // Making it held the event loop for seconds: the client learns of the keep-alive connections the
    // server closed meanwhile before it sends on one of them.
    await new Promise((resolve) => setImmediate(resolve));
    const dir = await folder("killed");
    const big = await upload("big.bin", data.length, dir, data);
    const staging = join(b.store, ".flotilla", "tmp");
    const created = await createMoveJob(
      primary.services(),
      toRequest({
        source: { kind: "policy", policy_id: a.policyId },
        target_policy_id: b.policyId,
        scope: { kind: "folder", id: dir },
      }),
      "admin",
    );
    const running = runMoves(primary.services(), { jobId: created.id, budgetMs: 60_000 });
    // The pull has begun writing on the target when its staging file appears.
    let seen = false;
    for (let look = 0; look < 4000 && !seen; look++) {
      seen = (await readdir(staging).catch(() => [])).length > 0;
      if (!seen) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(seen).toBe(true);
    await b.agent.kill();
    const report = await running;
    expect(report).toMatchObject({ moved: 0, failed: 0, waiting: 1 });
    expect(await fileOf(big.id)).toMatchObject({ policyId: a.policyId });
    expect((await download(`/api/v1/spaces/me/files/${big.id}/content`)).sha256).toBe(big.sha256);
    const [item] = await primary.db.select().from(moveItems).where(eq(moveItems.jobId, created.id));
    expect(item).toMatchObject({ state: "pending", lastError: "follower_unreachable" });
    expect((await readdir(staging)).length).toBeGreaterThan(0);

    await b.agent.restart();
    expect(await readdir(staging)).toEqual([]);
    await primary.db
      .update(moveItems)
      .set({ nextAttemptAt: new Date(0) })
      .where(eq(moveItems.jobId, created.id));
    const done = await runToEnd(created.id);
    expect(done.progress.done).toEqual({ files: 1, bytes: big.data.length });
    expect(await fileOf(big.id)).toMatchObject({ policyId: b.policyId, sha256: big.sha256 });
    expect((await download(`/api/v1/spaces/me/files/${big.id}/content`)).sha256).toBe(big.sha256);
  }, 240_000);

  it("the libSQL server stopped in the middle of a job and started again: the job is taken over and ends with every file moved whole", async () => {
    const dir = await folder("database-down");
    const stored = [
      await upload("d1.bin", 3000, dir),
      await upload("d2.bin", MiB + 9, dir),
      await upload("d3.bin", 9000, dir),
    ];
    const created = await createMoveJob(
      primary.services(),
      toRequest({
        source: { kind: "policy", policy_id: a.policyId },
        target_policy_id: b.policyId,
        scope: { kind: "folder", id: dir },
      }),
      "admin",
    );
    let database: { start(): Promise<void> } | null = null;
    const hooks: MoveHooks = {
      async beforeSwitch() {
        // The first verified copy meets the database gone at its switch.
        database ??= await primary.stopDatabase();
      },
    };
    const report = await runMoves(primary.services(), {
      jobId: created.id,
      budgetMs: 30_000,
      concurrency: 1,
      hooks,
    });
    expect(database).not.toBeNull();
    expect(report.moved).toBe(0);
    await database!.start();
    const during = await job(created.id);
    expect(during.state).toBe("running");
    expect(during.progress.done.files).toBe(0);
    for (const s of stored) expect((await fileOf(s.id))?.policyId).toBe(a.policyId);

    // The runner that met the outage could not let go of the job or its file: their leases run out.
    await primary.db
      .update(moveJobs)
      .set({ runnerUntil: new Date(0) })
      .where(eq(moveJobs.id, created.id));
    await primary.db
      .update(moveItems)
      .set({ claimedAt: new Date(0) })
      .where(eq(moveItems.jobId, created.id));
    const done = await runToEnd(created.id);
    expect(done.progress.done.files).toBe(3);
    for (const s of stored) {
      expect(await fileOf(s.id)).toMatchObject({ policyId: b.policyId, sha256: s.sha256 });
      expect((await download(`/api/v1/spaces/me/files/${s.id}/content`)).sha256).toBe(s.sha256);
    }
  }, 120_000);

  it("a file trashed, renamed, restored or purged while it is copied ends consistent, and no copy is left over", async () => {
    const dir = await folder("races");
    const [trashed, renamed, restored, purged] = [
      await upload("trashed.bin", 4000, dir),
      await upload("renamed.bin", 5000, dir),
      await upload("restored.bin", 6000, dir),
      await upload("purged.bin", 7000, dir),
    ];
    const raced = new Set<string>();
    const hooks: MoveHooks = {
      async beforeSwitch(fileId) {
        if (raced.has(fileId)) return;
        raced.add(fileId);
        const call = async (method: string, path: string, body?: unknown) =>
          user.ok(await user.json(method, path, body), method === "DELETE" ? 204 : 200);
        if (fileId === trashed!.id) await call("DELETE", `/api/v1/spaces/me/files/${fileId}`);
        if (fileId === renamed!.id)
          await call("PATCH", `/api/v1/spaces/me/files/${fileId}`, { name: "new-name.bin" });
        if (fileId === restored!.id) {
          await call("DELETE", `/api/v1/spaces/me/files/${fileId}`);
          await call("POST", `/api/v1/spaces/me/trash/files/${fileId}/restore`);
        }
        if (fileId === purged!.id) {
          await call("DELETE", `/api/v1/spaces/me/files/${fileId}`);
          await call("DELETE", `/api/v1/spaces/me/trash/files/${fileId}`);
        }
      },
    };
    const created = await createMoveJob(
      primary.services(),
      toRequest({
        source: { kind: "policy", policy_id: a.policyId },
        target_policy_id: b.policyId,
        scope: { kind: "folder", id: dir },
      }),
      "admin",
    );
    const done = await runToEnd(created.id, hooks);
    expect(raced.size).toBe(4);
    expect(done.state).toBe("completed");
    expect(done.progress.done.files).toBe(3);
    expect(done.progress.skipped.files).toBe(1);

    expect(await fileOf(purged!.id)).toBeUndefined();
    const trashedRow = await fileOf(trashed!.id);
    expect(trashedRow).toMatchObject({ policyId: b.policyId, sha256: trashed!.sha256 });
    expect(trashedRow?.trashedAt).not.toBeNull();
    await user.ok(await user.json("POST", `/api/v1/spaces/me/trash/files/${trashed!.id}/restore`), 200);
    expect((await download(`/api/v1/spaces/me/files/${trashed!.id}/content`)).sha256).toBe(trashed!.sha256);
    expect(await fileOf(renamed!.id)).toMatchObject({ name: "new-name.bin", policyId: b.policyId });
    expect((await download(`/api/v1/spaces/me/files/${renamed!.id}/content`)).sha256).toBe(renamed!.sha256);
    expect(await fileOf(restored!.id)).toMatchObject({ trashedAt: null, policyId: b.policyId });
    expect((await download(`/api/v1/spaces/me/files/${restored!.id}/content`)).sha256).toBe(restored!.sha256);

    // Every object on the target is a file's; every discarded copy and old object is gone.
    await graceElapsed();
    const onTarget = await primary.db
      .select({ id: files.id })
      .from(files)
      .innerJoin(storagePolicies, eq(storagePolicies.id, files.policyId))
      .where(eq(storagePolicies.nodeId, b.nodeId));
    expect(await objectsUnder(b.store)).toHaveLength(onTarget.length);
    const left = await primary.db
      .select()
      .from(pendingObjectDeletions)
      .where(inArray(pendingObjectDeletions.policyId, [a.policyId, b.policyId]));
    expect(left).toEqual([]);
  }, 120_000);
});

/** The domain's request from an API body, parsed as the route parses it. */
function toRequest(body: unknown) {
  return toMoveRequest(moveRequestBody.parse(body));
}
