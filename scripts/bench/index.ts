// `npm run bench`: one run, one throwaway single-box stack (temp dir, ports 0). Uploads and downloads a
// generated payload (BENCH_GIB, default 1) straight to the agent, through relay_stream and through
// presigned; samples the peak memory of workerd and of the agent in each phase; measures the
// machine's disk (write + fsync) and streaming SHA-256 in the same run; prints figures and the ratios
// against the project's throughput and memory goals (scripts/bench/report.ts). A benchmark, not a
// test: it asserts nothing and never fails on speed.
import { statfs } from "node:fs/promises";
import { join } from "node:path";
import { StateFile } from "../../agent/state.ts";
import { randomToken } from "../../shared/crypto.ts";
import { createFollowerClient } from "../../shared/protocol/client.ts";
import {
  createGroup,
  createPolicy,
  createUser,
  findNode,
  login,
  testConnection,
} from "../acceptance/admin.ts";
import type { Api } from "../acceptance/api.ts";
import type { Mode } from "../acceptance/config.ts";
import { startLocalStack } from "../acceptance/local-stack.ts";
import { ensureLocalTarget } from "../acceptance/targets.ts";
import { Payload } from "./data.ts";
import { diskWriteSeconds, sha256Seconds } from "./machine.ts";
import { findWorkerd, PhaseMemory } from "./memory.ts";
import { type Phase, report } from "./report.ts";
import { downloadDirect, downloadViaApi, purgeViaApi, uploadDirect, uploadViaApi } from "./transfers.ts";

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

function numberFromEnv(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`);
  return value;
}

const gib = numberFromEnv("BENCH_GIB", 1);
const plan = {
  partSize: Math.round(numberFromEnv("BENCH_PART_MIB", 64) * MiB),
  concurrency: Math.round(numberFromEnv("BENCH_CONCURRENCY", 4)),
};
const repeat = Math.round(numberFromEnv("BENCH_REPEAT", 3));
const WAYS = ["direct", "relay_stream", "presigned"] as const;
const size = Math.round(gib * GiB);
const log = (line: string) => console.error(line);

log(`Starting a throwaway stack for ${gib} GiB transfers...`);
const local = await startLocalStack();
try {
  const disk = await statfs(local.dataDir);
  const free = disk.bavail * disk.bsize;
  // One transfer at a time holds its parts and the composed object, plus the disk probe.
  if (free < 3 * size) {
    throw new Error(
      `${(free / GiB).toFixed(1)} GiB free under ${local.dataDir}; ${((3 * size) / GiB).toFixed(1)} GiB needed.`,
    );
  }
  const runId = `bench-${randomToken("", 4).slice(1)}`;
  const admin = await login(local.url, local.adminUsername, local.adminPassword, runId);
  const node = await findNode(admin, undefined);
  await testConnection(admin, node, true);
  const { target } = await ensureLocalTarget(admin, node);
  const users = new Map<Mode, Api>();
  for (const mode of ["relay_stream", "presigned"] as const) {
    const policy = await createPolicy(admin, node, { runId, chunkSize: plan.partSize }, mode, mode);
    const group = await createGroup(admin, policy, `${runId} ${mode}`);
    const password = randomToken("pw", 12);
    const user = await createUser(
      admin,
      group,
      `${runId}-${mode === "relay_stream" ? "relay" : "presigned"}`,
      password,
    );
    users.set(mode, await login(local.url, user.username, password, runId));
  }
  // The follower's secret is sealed in its state with the state key beside it (the stack's data dir).
  const { enrollment } = await new StateFile(local.followerDataDir).load();
  if (!enrollment) throw new Error("The stack's follower is not enrolled.");
  const credentials = { keyId: enrollment.key_id, secret: enrollment.secret };
  const direct = createFollowerClient({
    baseUrl: local.follower.url,
    ...credentials,
    timeoutMs: 30 * 60_000,
  });
  const agentDirect = { client: direct, baseUrl: local.follower.url, credentials };

  log("Measuring the machine: streaming SHA-256 and disk write + fsync...");
  const probeBytes = Math.min(size, 2 * GiB);
  const shaSeconds = sha256Seconds(probeBytes);
  const diskSeconds = await diskWriteSeconds(join(local.ingressRoot, target.base_path), probeBytes);
  const payload = new Payload(size);
  const sha256 = payload.sha256();

  const workerd = findWorkerd(process.pid);
  const agent = local.follower.child.pid!;
  const phases: Phase[] = [];
  /** Runs one phase; a failure is recorded and reported, and the remaining phases still run. */
  const measure = async (name: Phase["name"], work: () => Promise<string | undefined>): Promise<boolean> => {
    log(`  ${name}...`);
    const memory = { workerd: new PhaseMemory(workerd), agent: new PhaseMemory(agent) };
    const started = performance.now();
    let error: string | undefined;
    try {
      const got = await work();
      if (got !== undefined && got !== sha256) error = "the downloaded bytes differ (sha256)";
    } catch (thrown) {
      error = thrown instanceof Error ? thrown.message : String(thrown);
    }
    const seconds = (performance.now() - started) / 1000;
    const readings = { workerd: memory.workerd.stop(), agent: memory.agent.stop() };
    phases.push({ name, seconds, memory: readings, error });
    if (error) log(`  ${name} failed: ${error}`);
    return error === undefined;
  };

  // Interleaved (all uploads, then all downloads, per round) so load from elsewhere on the machine
  // spreads over every way alike; with BENCH_REPEAT > 1 the report keeps each phase's best time.
  for (let round = 1; round <= repeat; round++) {
    if (repeat > 1) log(`Round ${round} of ${repeat}`);
    const key = `${runId}/direct-${round}.bin`;
    const files = new Map<Mode, string>();
    // Each round starts with another way, so no way always meets a cold cache or dirty pages first.
    const ways = WAYS.map((_, i) => WAYS[(i + round - 1) % WAYS.length]!);
    let sentDirect = false;
    for (const way of ways) {
      if (way === "direct") {
        sentDirect = await measure("upload direct", async () => {
          await uploadDirect(agentDirect, key, payload, sha256, plan);
          return undefined;
        });
        continue;
      }
      await measure(`upload ${way}`, async () => {
        files.set(way, await uploadViaApi(users.get(way)!, payload, sha256, way, plan));
        return undefined;
      });
    }
    for (const way of ways) {
      if (way === "direct") {
        if (sentDirect) await measure("download direct", () => downloadDirect(direct, key));
        continue;
      }
      const fileId = files.get(way);
      if (fileId) await measure(`download ${way}`, () => downloadViaApi(users.get(way)!, fileId, way));
    }
    await direct.deleteObject(key).catch((error) => log(`  could not delete ${key}: ${error}`));
    for (const [mode, fileId] of files) {
      await purgeViaApi(users.get(mode)!, fileId).catch((error) =>
        log(`  could not purge the ${mode} file: ${error}`),
      );
    }
  }

  console.log(
    report({
      size,
      plan,
      repeat,
      machine: { shaSeconds, diskSeconds, probeBytes, diskDir: local.ingressRoot },
      phases,
    }).join("\n"),
  );
} finally {
  await local.stop();
}
