// Owns measuring a process's memory during one benchmark phase (Linux /proc): its resident size when
// idle just before, and the peak during the phase, from VmHWM after resetting it (writing 5 to
// /proc/<pid>/clear_refs) or, where that is not permitted, from VmRSS sampled every 20 ms.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";

function statusKb(pid: number, field: "VmRSS" | "VmHWM"): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
  if (!match?.[1]) throw new Error(`/proc/${pid}/status has no ${field}`);
  return Number(match[1]);
}

function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, "5");
    return true;
  } catch {
    return false;
  }
}

export interface MemoryReading {
  /** Megabytes (10^6 bytes), the unit of the goal. */
  idleMB: number;
  peakMB: number;
  /** How the peak was taken. */
  method: "VmHWM" | "VmRSS sampled";
}

export class PhaseMemory {
  readonly #pid: number;
  readonly #idleKb: number;
  readonly #hwm: boolean;
  #sampledKb = 0;
  readonly #timer: NodeJS.Timeout;

  constructor(pid: number) {
    this.#pid = pid;
    this.#idleKb = statusKb(pid, "VmRSS");
    this.#hwm = resetPeak(pid);
    this.#sampledKb = this.#idleKb;
    // Sampling runs either way: it also catches a reset that did not take.
    this.#timer = setInterval(() => {
      try {
        this.#sampledKb = Math.max(this.#sampledKb, statusKb(this.#pid, "VmRSS"));
      } catch {
        // The process ended; the last sample stands.
      }
    }, 20);
  }

  stop(): MemoryReading {
    clearInterval(this.#timer);
    let peakKb = this.#sampledKb;
    if (this.#hwm) peakKb = Math.max(peakKb, statusKb(this.#pid, "VmHWM"));
    return {
      idleMB: (this.#idleKb * 1024) / 1e6,
      peakMB: (peakKb * 1024) / 1e6,
      method: this.#hwm ? "VmHWM" : "VmRSS sampled",
    };
  }
}

function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "";
  }
}

function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return undefined;
  }
}

/** The workerd process Miniflare started below `root` (this process). */
export function findWorkerd(root: number): number {
  const workerd = findWorkerds(root)[0];
  if (workerd === undefined) throw new Error("no workerd process below this one");
  return workerd;
}

/** Every workerd process below `root` (one per Miniflare instance), by process id. */
export function findWorkerds(root: number): number[] {
  const parents = new Map<number, number>();
  for (const pid of readdirSync("/proc").map(Number).filter(Number.isInteger)) {
    const parent = parentOf(pid);
    if (parent !== undefined) parents.set(pid, parent);
  }
  const below = new Set([root]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, parent] of parents) {
      if (below.has(parent) && !below.has(pid)) {
        below.add(pid);
        grew = true;
      }
    }
  }
  return [...below].filter((pid) => pid !== root && commandOf(pid) === "workerd").sort((a, b) => a - b);
}
