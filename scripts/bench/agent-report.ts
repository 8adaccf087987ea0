// Owns the text of the agent's figures: one line per phase (best round: time, MB/s, ratio to its
// anchor, the agent's memory above idle), then each goal met or missed.
import type { MemoryReading } from "./memory.ts";
import { NGINX_MISSING } from "./nginx.ts";
import type { Plan } from "./transfers.ts";

export type Name =
  | "disk write + fsync"
  | "curl PUT ceiling (nginx)"
  | "agent single PUT"
  | "agent multipart PUT+complete"
  | "nginx GET whole"
  | "agent GET whole"
  | "nginx GET ranged"
  | "agent GET ranged";

export interface Sample {
  name: Name;
  seconds: number;
  bytes: number;
  memory: MemoryReading | null;
  note?: string;
}

const MEMORY_GOAL_MB = 200;
const mbps = (bytes: number, seconds: number) => bytes / 1e6 / seconds;
const above = (m: MemoryReading) => Math.max(0, m.peakMB - m.idleMB);

export function agentReport(
  samples: Sample[],
  size: number,
  bench: { plan: Plan; repeat: number; nginx: boolean },
): string[] {
  const best = (name: Name) =>
    samples
      .filter((s) => s.name === name)
      .reduce<Sample | undefined>((a, b) => (a && a.seconds <= b.seconds ? a : b), undefined);
  const anchors: Partial<Record<Name, { anchor: Name; goal: number }>> = {
    "agent single PUT": { anchor: "disk write + fsync", goal: 0.8 },
    "agent multipart PUT+complete": { anchor: "disk write + fsync", goal: 0.8 },
    "agent GET whole": { anchor: "nginx GET whole", goal: 0.9 },
    "agent GET ranged": { anchor: "nginx GET ranged", goal: 0.9 },
  };
  const gib = size / 1024 ** 3;
  const lines = [
    "",
    `Agent against the machine: ${gib} GiB, curl as the client, parts of ${bench.plan.partSize / 1024 ** 2} MiB with ${bench.plan.concurrency} in flight, best of ${bench.repeat} round(s)`,
    "  what                              time      MB/s   ratio to anchor           agent +MB",
  ];
  const goals: string[] = [];
  const order: Name[] = [
    "disk write + fsync",
    "curl PUT ceiling (nginx)",
    "agent single PUT",
    "agent multipart PUT+complete",
    "nginx GET whole",
    "agent GET whole",
    "nginx GET ranged",
    "agent GET ranged",
  ];
  for (const name of order) {
    const sample = best(name);
    if (!sample) {
      if (!name.startsWith("nginx") && !name.startsWith("curl")) lines.push(`  ${name.padEnd(32)}FAILED`);
      continue;
    }
    const anchorOf = anchors[name];
    const anchor = anchorOf ? best(anchorOf.anchor) : undefined;
    const ratio = anchor ? anchor.seconds / anchor.bytes / (sample.seconds / sample.bytes) : null;
    const ratioText = anchorOf
      ? ratio === null
        ? `no ${anchorOf.anchor}`.padEnd(26)
        : `${ratio.toFixed(2)} of ${anchorOf.anchor}`.padEnd(26)
      : (name === "disk write + fsync"
          ? "(anchor of uploads)"
          : name.startsWith("nginx GET")
            ? "(anchor, client ceiling)"
            : "(client ceiling)"
        ).padEnd(26);
    const memory = sample.memory ? above(sample.memory).toFixed(0).padStart(9) : "".padStart(9);
    lines.push(
      `  ${name.padEnd(32)}${sample.seconds.toFixed(2).padStart(6)} s${mbps(sample.bytes, sample.seconds).toFixed(0).padStart(8)}   ${ratioText}${memory}${sample.note ? `  (${sample.note})` : ""}`,
    );
    if (anchorOf) {
      goals.push(
        ratio === null
          ? `  [missed] ${name} >= ${anchorOf.goal}x ${anchorOf.anchor}: no anchor measured`
          : `  [${ratio >= anchorOf.goal ? "met   " : "missed"}] ${name} >= ${anchorOf.goal}x ${anchorOf.anchor}: ${ratio.toFixed(2)}`,
      );
    }
  }
  if (!bench.nginx) lines.push(`  ${NGINX_MISSING}`);
  const agentSamples = samples.filter((s) => s.memory !== null);
  if (agentSamples.length > 0) {
    const worst = agentSamples.reduce((a, b) => (above(b.memory!) > above(a.memory!) ? b : a));
    const peak = above(worst.memory!);
    goals.push(
      `  [${peak < MEMORY_GOAL_MB ? "met   " : "missed"}] agent < ${MEMORY_GOAL_MB} MB above idle in every agent phase: worst ${peak.toFixed(0)} MB (${worst.name}; idle ${worst.memory!.idleMB.toFixed(0)} MB, ${worst.memory!.method})`,
    );
  }
  return [...lines, "", "Goals (agent)", ...goals];
}
