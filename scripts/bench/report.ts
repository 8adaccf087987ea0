// Owns turning one benchmark run into text: the machine's limits, one line per transfer (time,
// throughput, share of the direct-to-agent figure, memory above idle of workerd and the agent), and
// each throughput and memory goal (WebDAV's against the upload API) marked met or missed with the measured ratio. Throughput and memory are in
// MB (10^6 bytes), the goal's unit.
import { cpus, loadavg } from "node:os";
import type { MemoryReading } from "./memory.ts";
import type { Plan } from "./transfers.ts";

const MODES = ["direct", "relay_stream", "presigned", "webdav", "channel"] as const;
type Way = (typeof MODES)[number];
type Direction = "upload" | "download";

export interface Phase {
  name: `${Direction} ${Way}`;
  seconds: number;
  memory: Record<"workerd" | "agent", MemoryReading>;
  /** Set when the transfer failed; its time and memory then mean nothing. */
  error?: string;
}

export interface Run {
  size: number;
  plan: Plan;
  repeat: number;
  machine: { shaSeconds: number; diskSeconds: number; probeBytes: number; diskDir: string };
  phases: Phase[];
}

const MEMORY_GOAL_MB = 200;
const GOALS: Record<"relay_stream" | "presigned", number> = { relay_stream: 0.7, presigned: 0.9 };
/** WebDAV to a relay_stream policy against the upload API to the same policy. */
const WEBDAV_GOAL = 0.9;
/** relay_stream through an outbound-only follower's channel against relay_stream to a direct follower. */
const CHANNEL_GOAL = 0.8;

const mbps = (bytes: number, seconds: number) => bytes / 1e6 / seconds;
const fixed = (n: number, width: number, digits = 0) => n.toFixed(digits).padStart(width);
const pct = (ratio: number) => `${Math.round(ratio * 100)}%`;
const above = (m: MemoryReading) => Math.max(0, m.peakMB - m.idleMB);

/** One phase out of its rounds: the best time and, per process, the worst memory above idle. */
function best(runs: Phase[]): Phase | undefined {
  const ok = runs.filter((p) => !p.error);
  if (ok.length === 0) return undefined;
  const worst = (proc: "workerd" | "agent") =>
    ok.reduce((a, b) => (above(b.memory[proc]) > above(a.memory[proc]) ? b : a)).memory[proc];
  const fastest = ok.reduce((a, b) => (b.seconds < a.seconds ? b : a));
  return { ...fastest, memory: { workerd: worst("workerd"), agent: worst("agent") } };
}

export function report(run: Run): string[] {
  const { size, plan, machine } = run;
  const gib = size / 1024 ** 3;
  const names = [...new Set(run.phases.map((p) => p.name))];
  const phases = names
    .map((name) => best(run.phases.filter((p) => p.name === name)))
    .filter((p) => p !== undefined);
  const find = (d: Direction, w: Way) => phases.find((p) => p.name === `${d} ${w}`);
  const lines = [
    `Flotilla benchmark: ${gib} GiB (${size} bytes) per transfer, parts of ${plan.partSize / 1024 ** 2} MiB, ${plan.concurrency} in flight, ${run.repeat} round(s) (best time kept); ${cpus().length} CPUs, load average ${loadavg()[0]?.toFixed(1)}, Node ${process.version}`,
    "",
    "Machine limits (same run)",
    `  streaming SHA-256          ${fixed(mbps(machine.probeBytes, machine.shaSeconds), 7)} MB/s  (${(machine.probeBytes / 1024 ** 3).toFixed(1)} GiB in 1 MiB updates)`,
    `  disk write + fsync         ${fixed(mbps(machine.probeBytes, machine.diskSeconds), 7)} MB/s  (${(machine.probeBytes / 1024 ** 3).toFixed(1)} GiB under ${machine.diskDir})`,
    "",
    "Transfer                    time      MB/s  of direct  workerd +MB  agent +MB  (peak above idle)",
  ];
  for (const direction of ["upload", "download"] as const) {
    const base = find(direction, "direct");
    for (const way of MODES) {
      for (const failed of run.phases.filter((p) => p.name === `${direction} ${way}` && p.error)) {
        const memory = `workerd +${above(failed.memory.workerd).toFixed(0)} MB, agent +${above(failed.memory.agent).toFixed(0)} MB`;
        lines.push(
          `  ${failed.name.padEnd(24)}FAILED after ${failed.seconds.toFixed(1)} s (${memory}): ${failed.error}`,
        );
      }
      const phase = find(direction, way);
      if (!phase) continue;
      const ratio = base ? base.seconds / phase.seconds : Number.NaN;
      lines.push(
        `  ${`${direction} ${way}`.padEnd(24)}${fixed(phase.seconds, 6, 1)} s${fixed(mbps(size, phase.seconds), 8)}${pct(ratio).padStart(11)}${fixed(above(phase.memory.workerd), 13)}${fixed(above(phase.memory.agent), 11)}`,
      );
    }
  }
  const uploadDirect = find("upload", "direct");
  const downloadDirect = find("download", "direct");
  if (uploadDirect && downloadDirect) {
    lines.push(
      `  direct upload = ${pct(machine.diskSeconds / ((uploadDirect.seconds * machine.probeBytes) / size))} of disk write + fsync; direct download = ${pct(machine.shaSeconds / ((downloadDirect.seconds * machine.probeBytes) / size))} of streaming SHA-256`,
    );
  }
  lines.push(
    "",
    `Goals, measured at ${gib} GiB${gib < 4 ? "; run BENCH_GIB=4 for the 4 GiB memory goal" : ""}`,
  );
  for (const direction of ["upload", "download"] as const) {
    for (const way of ["relay_stream", "presigned"] as const) {
      const phase = find(direction, way);
      const base = find(direction, "direct");
      if (!phase || !base) {
        lines.push(`  [missed] ${direction} ${way} >= ${pct(GOALS[way])} of direct: not measured (failed)`);
        continue;
      }
      const ratio = base.seconds / phase.seconds;
      const goal = GOALS[way];
      lines.push(
        `  [${ratio >= goal ? "met   " : "missed"}] ${direction} ${way} >= ${pct(goal)} of direct: ${pct(ratio)}`,
      );
    }
  }
  for (const direction of ["upload", "download"] as const) {
    const dav = find(direction, "webdav");
    const api = find(direction, "relay_stream");
    if (!dav || !api) {
      lines.push(
        `  [missed] ${direction} webdav >= ${pct(WEBDAV_GOAL)} of ${direction} relay_stream: not measured`,
      );
      continue;
    }
    const ratio = api.seconds / dav.seconds;
    lines.push(
      `  [${ratio >= WEBDAV_GOAL ? "met   " : "missed"}] ${direction} webdav >= ${pct(WEBDAV_GOAL)} of ${direction} relay_stream (the upload API): ${pct(ratio)}`,
    );
  }
  for (const direction of ["upload", "download"] as const) {
    const channel = find(direction, "channel");
    const relay = find(direction, "relay_stream");
    if (!run.phases.some((p) => p.name === `${direction} channel`)) continue;
    if (!channel || !relay) {
      lines.push(
        `  [missed] ${direction} channel >= ${pct(CHANNEL_GOAL)} of ${direction} relay_stream (direct follower): not measured`,
      );
      continue;
    }
    const ratio = relay.seconds / channel.seconds;
    lines.push(
      `  [${ratio >= CHANNEL_GOAL ? "met   " : "missed"}] ${direction} channel >= ${pct(CHANNEL_GOAL)} of ${direction} relay_stream (direct follower): ${pct(ratio)}`,
    );
  }
  for (const proc of ["workerd", "agent"] as const) {
    // Failed attempts count too: the memory was used whether or not the transfer finished.
    if (run.phases.length === 0) continue;
    const worst = run.phases.reduce((a, b) => (above(b.memory[proc]) > above(a.memory[proc]) ? b : a));
    const peak = above(worst.memory[proc]);
    lines.push(
      `  [${peak < MEMORY_GOAL_MB ? "met   " : "missed"}] ${proc} < ${MEMORY_GOAL_MB} MB above idle in every transfer: worst ${peak.toFixed(0)} MB (${worst.name}; idle ${worst.memory[proc].idleMB.toFixed(0)} MB, peak ${worst.memory[proc].peakMB.toFixed(0)} MB, ${worst.memory[proc].method})`,
    );
  }
  return lines;
}
