// Owns the stack half of the benchmark: one payload uploaded and downloaded straight to the agent
// (the node's signed protocol v2 client), through relay_stream, through presigned and through WebDAV
// (one PUT, one GET, to the relay_stream user's policy with an app password) and, when the run has
// one, through an outbound-only follower's channel (relay_stream on a second agent), interleaved over
// the rounds, with the peak memory of workerd and of the agent in each phase and the machine's
// streaming SHA-256 and disk write + fsync measured in the same run.
import { z } from "zod";
import type { createFollowerClient } from "../../shared/protocol/client.ts";
import type { Api } from "../acceptance/api.ts";
import type { Mode } from "../acceptance/config.ts";
import type { Payload } from "./data.ts";
import { diskWriteSeconds, sha256Seconds } from "./machine.ts";
import { findWorkerd, PhaseMemory } from "./memory.ts";
import { type Phase, report } from "./report.ts";
import {
  type DirectAgent,
  downloadDirect,
  downloadViaApi,
  downloadViaWebdav,
  type Plan,
  purgeViaApi,
  uploadDirect,
  uploadViaApi,
  uploadViaWebdav,
} from "./transfers.ts";

const GiB = 1024 ** 3;
const WAYS = ["direct", "relay_stream", "presigned", "webdav", "channel"] as const;

export interface StackBench {
  users: Map<Mode, Api>;
  /** The primary's origin (the WebDAV base path is under it). */
  origin: string;
  direct: ReturnType<typeof createFollowerClient>;
  agentDirect: DirectAgent;
  /** The follower's ingress root, named in the report. */
  diskDir: string;
  /** The local target's directory, where the disk probe writes. */
  targetDir: string;
  /** The follower agent's process id. */
  agentPid: number;
  /** An outbound-only follower's relay_stream user and its agent's process id (channel-follower.ts). */
  channel?: { user: Api; agentPid: number };
  payload: Payload;
  runId: string;
  plan: Plan;
  repeat: number;
  log: (line: string) => void;
}

export async function benchStack(bench: StackBench): Promise<string[]> {
  const { users, direct, agentDirect, diskDir, targetDir, payload, runId, plan, repeat, log } = bench;
  const size = payload.size;
  log("Measuring the machine: streaming SHA-256 and disk write + fsync...");
  const probeBytes = Math.min(size, 2 * GiB);
  const shaSeconds = sha256Seconds(probeBytes);
  const diskSeconds = await diskWriteSeconds(targetDir, probeBytes);
  const sha256 = payload.sha256();

  const workerd = findWorkerd(process.pid);
  const agent = bench.agentPid;
  const phases: Phase[] = [];
  /** Runs one phase; a failure is recorded and reported, and the remaining phases still run. */
  const measure = async (
    name: Phase["name"],
    work: () => Promise<string | undefined>,
    agentPid = agent,
  ): Promise<boolean> => {
    log(`  ${name}...`);
    const memory = { workerd: new PhaseMemory(workerd), agent: new PhaseMemory(agentPid) };
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

  // WebDAV goes to the relay_stream user's policy, with an app password of that user. The GET goes
  // first: after the machine's measurements the client's pooled connections have idled long enough for
  // the server to close them, and only an idempotent request is sent again on a fresh one.
  const relayUser = users.get("relay_stream")!;
  const { username } = await relayUser
    .json("GET", "/api/v1/auth/me", z.object({ user: z.object({ username: z.string() }) }))
    .then((me) => me.user);
  const appPassword = await relayUser.json(
    "POST",
    "/api/v1/auth/app-passwords",
    z.object({ password: z.string() }),
    { body: { name: runId } },
  );
  const davAuthorization = `Basic ${Buffer.from(`${username}:${appPassword.password}`).toString("base64")}`;
  const davName = (round: number) => `${runId}-webdav-${round}.bin`;
  const davFile = (round: number) => ({
    url: `${bench.origin}/dav/${davName(round)}`,
    authorization: davAuthorization,
  });

  // Interleaved (all uploads, then all downloads, per round) so load from elsewhere on the machine
  // spreads over every way alike; with BENCH_REPEAT > 1 the report keeps each phase's best time.
  for (let round = 1; round <= repeat; round++) {
    if (repeat > 1) log(`Round ${round} of ${repeat}`);
    const key = `${runId}/direct-${round}.bin`;
    const files = new Map<Mode, string>();
    let channelFile: string | undefined;
    const present = WAYS.filter((way) => way !== "channel" || bench.channel);
    // Each round starts with another way, so no way always meets a cold cache or dirty pages first.
    const ways = present.map((_, i) => present[(i + round - 1) % present.length]!);
    let sentDirect = false;
    let sentDav = false;
    for (const way of ways) {
      if (way === "webdav") {
        sentDav = await measure("upload webdav", async () => {
          await uploadViaWebdav(davFile(round), payload, sha256);
          return undefined;
        });
        continue;
      }
      if (way === "channel") {
        const channel = bench.channel!;
        await measure(
          "upload channel",
          async () => {
            channelFile = await uploadViaApi(channel.user, payload, sha256, "relay_stream", plan);
            return undefined;
          },
          channel.agentPid,
        );
        continue;
      }
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
      if (way === "webdav") {
        if (sentDav) await measure("download webdav", () => downloadViaWebdav(davFile(round)));
        continue;
      }
      if (way === "direct") {
        if (sentDirect) await measure("download direct", () => downloadDirect(direct, key));
        continue;
      }
      if (way === "channel") {
        const channel = bench.channel!;
        const fileId = channelFile;
        if (fileId) {
          await measure(
            "download channel",
            () => downloadViaApi(channel.user, fileId, "relay_stream"),
            channel.agentPid,
          );
        }
        continue;
      }
      const fileId = files.get(way);
      if (fileId) await measure(`download ${way}`, () => downloadViaApi(users.get(way)!, fileId, way));
    }
    await direct.deleteObject(key).catch((error) => log(`  could not delete ${key}: ${error}`));
    if (channelFile && bench.channel) {
      await purgeViaApi(bench.channel.user, channelFile).catch((error) =>
        log(`  could not purge the channel file: ${error}`),
      );
    }
    for (const [mode, fileId] of files) {
      await purgeViaApi(users.get(mode)!, fileId).catch((error) =>
        log(`  could not purge the ${mode} file: ${error}`),
      );
    }
    if (sentDav) {
      const { items } = await relayUser.json(
        "GET",
        "/api/v1/spaces/me/items?limit=200",
        z.object({ items: z.array(z.object({ id: z.string(), name: z.string() })) }),
      );
      const file = items.find((item) => item.name === davName(round));
      if (file) {
        await purgeViaApi(relayUser, file.id).catch((error) =>
          log(`  could not purge ${davName(round)}: ${error}`),
        );
      }
    }
  }

  return report({
    size,
    plan,
    repeat,
    machine: { shaSeconds, diskSeconds, probeBytes, diskDir },
    phases,
  });
}
