// `npm run bench`: one run, one throwaway single-box stack (temp dir, ports 0). First the agent against
// the machine (agent.ts: curl against the agent, disk write + fsync and nginx as anchors), then a
// generated payload (BENCH_GIB, default 1) uploaded and downloaded straight to the agent, through
// relay_stream, through presigned, through WebDAV and through an outbound-only follower's channel (a
// second agent whose node is outbound; BENCH_CHANNEL=0 leaves it out); samples the peak memory of workerd and of the agent in each
// phase; measures the machine's disk (write + fsync) and streaming SHA-256 in the same run; prints
// figures and the ratios against the goals; then the payload moved follower → follower by a move job
// (moves.ts), then the primary's round trips and request rates and its API under load (primary-load.ts).
// BENCH_ONLY=agent or BENCH_ONLY=stack runs one half; BENCH_ONLY=primary only the primary's figures.
// A benchmark, not a test: it asserts nothing and never fails on speed.
import { mkdtemp, rm, statfs } from "node:fs/promises";
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
import { stackPaths } from "../stack/config.ts";
import { benchAgent } from "./agent.ts";
import { type ChannelFollower, startChannelFollower } from "./channel-follower.ts";
import { curlAvailable } from "./curl.ts";
import { Payload } from "./data.ts";
import { benchMove } from "./moves.ts";
import { NGINX_MISSING, startNginx } from "./nginx.ts";
import { type LibsqlProxy, startLibsqlProxy } from "./primary-libsql-proxy.ts";
import { loadLines, primaryLoad, seedListing } from "./primary-load.ts";
import { miniflareCeiling } from "./primary-miniflare.ts";
import { primaryRates, rateLines } from "./primary-rates.ts";
import { measureRoundTrips, roundTripLines } from "./primary-round-trips.ts";
import { benchStack } from "./stack.ts";

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
const size = Math.round(gib * GiB);
const log = (line: string) => console.error(line);
const only = process.env.BENCH_ONLY ?? "";
if (!["", "agent", "stack", "primary"].includes(only)) {
  throw new Error("BENCH_ONLY must be agent, stack or primary");
}
const transfers = only !== "primary";
if (only === "" || only === "agent") {
  if (!(await curlAvailable())) {
    throw new Error(
      "curl is not installed: the agent figures use curl as the client (apt-get install curl).",
    );
  }
}

log(`Starting a throwaway stack for ${gib} GiB transfers...`);
let proxy: LibsqlProxy | undefined;
const local = await startLocalStack(undefined, {
  libsqlInFront: async (url) => {
    proxy = await startLibsqlProxy(url);
    return proxy;
  },
});
let channel: ChannelFollower | undefined;
try {
  const disk = await statfs(local.dataDir);
  const free = disk.bavail * disk.bsize;
  // The agent half holds curl's source files (whole and parts), two objects and the disk probe; one
  // stack transfer at a time holds its parts and the composed object, plus the disk probe.
  const needed = (only === "primary" ? 0 : only === "stack" ? 3 : 5) * size;
  if (free < needed) {
    throw new Error(
      `${(free / GiB).toFixed(1)} GiB free under ${local.dataDir}; ${(needed / GiB).toFixed(1)} GiB needed.`,
    );
  }
  const runId = `bench-${randomToken("", 4).slice(1)}`;
  const admin = await login(local.url, local.adminUsername, local.adminPassword, runId);
  const node = await findNode(admin, undefined);
  await testConnection(admin, node, true);
  const { target } = await ensureLocalTarget(admin, node);
  const users = new Map<Mode, Api>();
  const policies = new Map<Mode, string>();
  let relayCredentials = { username: "", password: "" };
  for (const mode of ["relay_stream", "presigned"] as const) {
    const policy = await createPolicy(admin, node, { runId, chunkSize: plan.partSize }, mode, mode);
    policies.set(mode, policy.id);
    const group = await createGroup(admin, policy, `${runId} ${mode}`);
    const password = randomToken("pw", 12);
    const user = await createUser(
      admin,
      group,
      `${runId}-${mode === "relay_stream" ? "relay" : "presigned"}`,
      password,
    );
    users.set(mode, await login(local.url, user.username, password, runId));
    if (mode === "relay_stream") relayCredentials = { username: user.username, password };
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

  const payload = new Payload(size);
  const targetDir = join(local.ingressRoot, target.base_path);
  const agentLines: string[] = [];
  if (only === "" || only === "agent") {
    const nginx = await startNginx(targetDir);
    if (!nginx) log(NGINX_MISSING);
    const workDir = await mkdtemp(join(local.dataDir, "bench-curl-"));
    try {
      agentLines.push(
        ...(await benchAgent({
          url: local.follower.url,
          pid: local.follower.child.pid!,
          client: direct,
          credentials,
          targetDir,
          workDir,
          nginx,
          payload,
          plan,
          repeat,
          log,
        })),
      );
    } finally {
      await nginx?.stop();
      await rm(workDir, { recursive: true, force: true });
    }
  }
  channel =
    !transfers || only === "agent" || process.env.BENCH_CHANNEL === "0"
      ? undefined
      : await startChannelFollower({
          admin,
          origin: local.url,
          dataDir: local.dataDir,
          runId,
          partSize: plan.partSize,
          password: randomToken("pw", 12),
          log,
        });
  const stackLines =
    !transfers || only === "agent"
      ? []
      : await benchStack({
          ...(channel ? { channel } : {}),
          origin: local.url,
          users,
          direct,
          agentDirect,
          diskDir: local.ingressRoot,
          targetDir,
          agentPid: local.follower.child.pid!,
          payload,
          runId,
          plan,
          repeat,
          log,
        });

  const moveLines =
    !transfers || only === "agent"
      ? []
      : await benchMove({
          local,
          admin,
          user: users.get("relay_stream")!,
          sourcePolicyId: policies.get("relay_stream")!,
          agentDirect,
          payload,
          plan,
          runId,
          log,
        });

  const primaryLines: string[] = [];
  if (only !== "agent") {
    log("Counting the primary's round trips to libSQL per route...");
    const delayMs = numberFromEnv("BENCH_DB_DELAY_MS", 10);
    const trips = await measureRoundTrips(users.get("relay_stream")!, relayCredentials, proxy!, {
      calls: Math.round(numberFromEnv("BENCH_ROUND_TRIP_CALLS", 7)),
      delayMs,
    });
    primaryLines.push(...roundTripLines(trips, delayMs));
    const seconds = numberFromEnv("BENCH_WRK_SECONDS", 5);
    const relay = users.get("relay_stream")!;
    let ceiling: Awaited<ReturnType<typeof miniflareCeiling>> | undefined;
    try {
      log("Loading the primary with wrk (64 clients)...");
      const rates = await primaryRates(local.url, relay.token!, 64, seconds);
      log("Measuring miniflare's own ceiling (a trivial worker, wrk at 64 clients)...");
      ceiling = await miniflareCeiling(64, seconds);
      primaryLines.push(...rateLines(rates, ceiling, 64));
    } catch (error) {
      // The figures above are kept; the rates need wrk (it says how to install it).
      primaryLines.push(`Request rates not measured: ${error instanceof Error ? error.message : error}`);
    }
    const pages = await seedListing(
      relay,
      stackPaths(local.dataDir).database,
      policies.get("relay_stream")!,
      runId,
      2000,
      100,
    );
    const load = await primaryLoad({ user: relay, pages, seconds, runId, log });
    primaryLines.push(...loadLines(load, ceiling?.routed));
  }
  console.log([...stackLines, ...moveLines, ...primaryLines, ...agentLines].join("\n"));
} finally {
  await channel?.stop();
  await local.stop();
}
