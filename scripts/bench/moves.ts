// Owns the benchmark's move line: a payload stored on the stack's follower through the API is moved
// onto a second follower (enrolled here, its own agent process) by a move job run through the
// scheduled handler, as the cron trigger runs it. The target pulls the object straight from the
// source with a presigned URL, so the primary carries nothing: the line prints the move's rate, the
// direct agent upload of the same payload in the same run as its anchor and the ratio, the bytes the
// primary relayed (from the job) and the peak memory above idle of workerd and of both agents.
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { randomToken } from "../../shared/crypto.ts";
import { enrollmentTokenSchema, nodeSchema } from "../../worker/api/nodes.ts";
import { createPolicy, findNode, type NodeView, testConnection } from "../acceptance/admin.ts";
import type { Api } from "../acceptance/api.ts";
import type { LocalStack } from "../acceptance/local-stack.ts";
import { ensureLocalTarget } from "../acceptance/targets.ts";
import { startFollower } from "../stack/follower.ts";
import { runScheduledWhile } from "../stack/scheduled.ts";
import type { Payload } from "./data.ts";
import { findWorkerd, type MemoryReading, PhaseMemory } from "./memory.ts";
import { type DirectAgent, type Plan, uploadDirect, uploadViaApi } from "./transfers.ts";

const jobSchema = z.object({
  id: z.string(),
  state: z.string(),
  bytes_relayed: z.number(),
  progress: z.object({
    done: z.object({ files: z.number(), bytes: z.number() }),
    failed: z.object({ files: z.number() }),
  }),
});
const folderSchema = z.object({ id: z.string() });

export interface MoveBench {
  local: LocalStack;
  admin: Api;
  /** A user whose policy group stores on the stack's follower (relay_stream). */
  user: Api;
  /** That user's policy, the move's source. */
  sourcePolicyId: string;
  agentDirect: DirectAgent;
  payload: Payload;
  plan: Plan;
  runId: string;
  log: (line: string) => void;
}

const mbps = (bytes: number, seconds: number) => bytes / 1e6 / seconds;
const above = (m: MemoryReading) => Math.max(0, m.peakMB - m.idleMB).toFixed(0);

export async function benchMove(bench: MoveBench): Promise<string[]> {
  const { local, admin, user, payload, plan, runId, log } = bench;
  const sha256 = payload.sha256();
  log("Move: enrolling a second follower as the target...");
  const created = await admin.json("POST", "/api/v1/admin/nodes", nodeSchema, {
    body: { name: `Bench target ${runId}` },
  });
  const { token } = await admin.json(
    "POST",
    `/api/v1/admin/nodes/${created.id}/enrollment-token`,
    enrollmentTokenSchema,
    { body: {} },
  );
  const dataDir = join(local.dataDir, "bench-target");
  await mkdir(dataDir, { recursive: true });
  const target = await startFollower({
    host: "127.0.0.1",
    port: 0,
    dataDir: join(dataDir, "state"),
    ingressRoot: join(dataDir, "ingress"),
    enroll: { primaryUrl: local.url, token },
  });
  try {
    await admin.ok("PATCH", `/api/v1/admin/nodes/${created.id}`, { body: { base_url: target.url } });
    const node: NodeView = await findNode(admin, created.name);
    await testConnection(admin, node, false);
    await ensureLocalTarget(admin, node);
    await testConnection(admin, node, false);
    const targetPolicy = await createPolicy(
      admin,
      node,
      { runId, chunkSize: plan.partSize },
      "relay_stream",
      "move",
    );

    log("Move: the direct agent upload of the same payload (the anchor)...");
    const anchorKey = `bench/move-anchor-${randomToken("", 6).slice(1)}`;
    const directStarted = performance.now();
    await uploadDirect(bench.agentDirect, anchorKey, payload, sha256, plan);
    const directSeconds = (performance.now() - directStarted) / 1000;
    await bench.agentDirect.client.deleteObject(anchorKey);

    log("Move: storing the payload on the source follower through the API...");
    const fileId = await uploadViaApi(user, payload, sha256, "relay_stream", plan);
    const folder = await user.json("POST", "/api/v1/spaces/me/folders", folderSchema, {
      body: { name: `bench-move-${runId}` },
    });
    await user.ok("PATCH", `/api/v1/spaces/me/files/${fileId}`, { body: { folder_id: folder.id } });

    log("Move: the job, run by the scheduled handler...");
    const workerd = findWorkerd(process.pid);
    const memory = {
      workerd: new PhaseMemory(workerd),
      source: new PhaseMemory(local.follower.child.pid!),
      target: new PhaseMemory(target.child.pid!),
    };
    const started = performance.now();
    const queued = await admin.json("POST", "/api/v1/admin/moves", jobSchema, {
      body: {
        source: { kind: "policy", policy_id: bench.sourcePolicyId },
        target_policy_id: targetPolicy.id,
        scope: { kind: "folder", id: folder.id },
      },
    });
    const job = await runScheduledWhile(
      local.stack.primary,
      queued,
      (reading) => reading.state === "running",
      () => admin.json("GET", `/api/v1/admin/moves/${queued.id}`, jobSchema),
      100,
    );
    const seconds = (performance.now() - started) / 1000;
    const readings = {
      workerd: memory.workerd.stop(),
      source: memory.source.stop(),
      target: memory.target.stop(),
    };
    if (job.state !== "completed" || job.progress.done.files !== 1) {
      return [
        `Move follower → follower: did not complete (${job.state}, ${job.progress.failed.files} failed)`,
      ];
    }
    const rate = mbps(payload.size, seconds);
    const anchor = mbps(payload.size, directSeconds);
    await user.ok("DELETE", `/api/v1/spaces/me/files/${fileId}`);
    return [
      `Move follower → follower (${(payload.size / 1024 ** 3).toFixed(1)} GiB, target pulls from the source): ` +
        `${seconds.toFixed(1)} s, ${rate.toFixed(0)} MB/s; direct agent upload ${anchor.toFixed(0)} MB/s; ` +
        `ratio ${Math.round((rate / anchor) * 100)}%`,
      `  bytes through the primary ${job.bytes_relayed}; memory above idle: workerd ${above(readings.workerd)} MB, ` +
        `source agent ${above(readings.source)} MB, target agent ${above(readings.target)} MB (${readings.workerd.method})`,
    ];
  } finally {
    await target.stop();
  }
}
