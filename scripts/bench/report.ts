// Owns turning one benchmark run into text: the machine's limits, one line per transfer (time,
// throughput, share of the direct-to-agent figure, memory above idle of workerd and the agent), and
// each goal of issue 5 marked met or missed with the measured ratio. Throughput and memory are in
// MB (10^6 bytes), the goal's unit.
import { cpus } from "node:os";
import type { MemoryReading } from "./memory.ts";
import type { Plan } from "./transfers.ts";

const MODES = ["direct", "relay_stream", "presigned"] as const;
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
  machine: { shaSeconds: number; diskSeconds: number; probeBytes: number; diskDir: string };
  phases: Phase[];
}

const MEMORY_GOAL_MB = 200;
const GOALS: Record<Exclude<Way, "direct">, number> = { relay_stream: 0.7, presigned: 0.9 };

const mbps = (bytes: number, seconds: number) => bytes / 1e6 / seconds;
const fixed = (n: number, width: number, digits = 0) => n.toFixed(digits).padStart(width);
const pct = (ratio: number) => `${Math.round(ratio * 100)}%`;
const above = (m: MemoryReading) => Math.max(0, m.peakMB - m.idleMB);

export function report(run: Run): string[] {
  const { size, plan, machine, phases } = run;
  const gib = size / 1024 ** 3;
  const find = (d: Direction, w: Way) => phases.find((p) => p.name === `${d} ${w}` && !p.error);
  const lines = [
    `Flotilla benchmark: ${gib} GiB (${size} bytes) per transfer, parts of ${plan.partSize / 1024 ** 2} MiB, ${plan.concurrency} in flight; ${cpus().length} CPUs, Node ${process.version}`,
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
      const failed = phases.find((p) => p.name === `${direction} ${way}` && p.error);
      if (failed) lines.push(`  ${failed.name.padEnd(24)}FAILED: ${failed.error}`);
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
    `Goals (issue 5), measured at ${gib} GiB${gib < 4 ? "; run BENCH_GIB=4 for the 4 GiB memory goal" : ""}`,
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
  for (const proc of ["workerd", "agent"] as const) {
    const measured = phases.filter((p) => !p.error);
    if (measured.length === 0) continue;
    const worst = measured.reduce((a, b) => (above(b.memory[proc]) > above(a.memory[proc]) ? b : a));
    const peak = above(worst.memory[proc]);
    lines.push(
      `  [${peak < MEMORY_GOAL_MB ? "met   " : "missed"}] ${proc} < ${MEMORY_GOAL_MB} MB above idle in every transfer: worst ${peak.toFixed(0)} MB (${worst.name}; idle ${worst.memory[proc].idleMB.toFixed(0)} MB, peak ${worst.memory[proc].peakMB.toFixed(0)} MB, ${worst.memory[proc].method})`,
    );
  }
  return lines;
}
