// Owns one campaign run on a throwaway single-box stack: the soak first (memory measured on a fresh
// stack), then the faults, then the fuzzer (whose admin requests may delete what the others need),
// each printed as figures, and the goals each phase must meet.
import { readFileSync } from "node:fs";
import { routes } from "../../worker/index.ts";
import { faultLines, runFaults } from "./faults.ts";
import { fuzz, fuzzLines } from "./fuzz.ts";
import { startCampaignStack } from "./setup.ts";
import { soak, soakLines } from "./soak.ts";

export interface CampaignOptions {
  fuzz: number;
  faults: number;
  soakSeconds: number;
  soakClients: number;
  /** Rounds of soakSeconds each (memory read after every one). */
  soakRounds: number;
  seed: number;
  /** Runs the bare-worker anchor beside the soak (the figures' reference, not a goal). */
  anchor: boolean;
  log: (line: string) => void;
}

export interface Goal {
  name: string;
  met: boolean;
  figure: string;
}

export interface CampaignResult {
  lines: string[];
  goals: Goal[];
  fuzz: { requests: number; fivexx: number; outsideEnvelope: number; unanswered: number };
  faults: { injected: number; lost: number; corrupt: number; stuck: number; leftovers: number };
  soak: {
    requests: number;
    fivexx: number;
    unexpected: number;
    mismatches: number;
    growthMB: Record<string, number>;
    /** The primary's JavaScript heap after the soak over before, after full collections. */
    heapGrowthMB: number;
  };
}

/** What a process may keep after the soak over what it had before (the goal). */
export const SOAK_GROWTH_LIMIT_MB = 50;
/** What the primary's JavaScript heap may keep after the soak over what it held before. */
export const HEAP_GROWTH_LIMIT_MB = 5;

export async function runCampaign(options: CampaignOptions): Promise<CampaignResult> {
  const { log } = options;
  const lines: string[] = [];
  const load = readLoad;
  log("Starting a throwaway stack (libSQL server, workerd primary, agent)...");
  const campaign = await startCampaignStack(log);
  try {
    lines.push(`Load average at start: ${load()}`);
    log(
      `Soak: ${options.soakClients} clients, ${options.soakRounds} round(s) of ${options.soakSeconds} s...`,
    );
    const soaked = await soak(campaign, {
      clients: options.soakClients,
      rounds: options.soakRounds,
      seconds: options.soakSeconds,
      seed: options.seed,
      anchor: options.anchor,
      log,
    });
    lines.push(...soakLines(soaked), `  load average: ${load()}`);
    log(`Faults: ${options.faults}...`);
    const faulted = await runFaults(campaign, options.faults, log);
    lines.push(...faultLines(faulted), `  load average: ${load()}`);
    log(`Fuzz: ${options.fuzz} requests...`);
    const fuzzed = await fuzz({
      origin: campaign.origin,
      db: campaign.db,
      routes,
      requests: options.fuzz,
      seed: options.seed,
      concurrency: 8,
      pools: { ids: [campaign.nodeId, campaign.policyId], tokens: [] },
      log,
    });
    lines.push(...fuzzLines(fuzzed), `  load average: ${load()}`);

    const fivexx = fuzzed.failures.filter((f) => f.status >= 500).length;
    const outsideEnvelope = fuzzed.failures.filter((f) => f.status > 0 && f.status < 500).length;
    const unanswered = fuzzed.failures.filter((f) => f.status === 0).length;
    const count = (test: (o: (typeof faulted.outcomes)[number]) => boolean) =>
      faulted.outcomes.filter(test).length;
    const faults = {
      injected: faulted.outcomes.length,
      lost: count((o) => o.lost),
      corrupt: count((o) => o.corrupt),
      stuck: count((o) => o.stuck),
      leftovers: count((o) => o.leftovers.length > 0),
    };
    const growthMB = Object.fromEntries(soaked.memory.map((m) => [m.name, m.afterMB - m.beforeMB]));
    const goals: Goal[] = [
      {
        name: "fuzz: every request sent",
        met: fuzzed.requests >= options.fuzz,
        figure: `${fuzzed.requests}`,
      },
      { name: "fuzz: 0 5xx", met: fivexx === 0, figure: `${fivexx}` },
      {
        name: "fuzz: 0 answers outside the envelope",
        met: outsideEnvelope === 0,
        figure: `${outsideEnvelope}`,
      },
      { name: "fuzz: 0 requests unanswered", met: unanswered === 0, figure: `${unanswered}` },
      {
        name: "faults: 0 files lost or corrupt, 0 sessions stuck, 0 leftovers",
        met: faults.lost + faults.corrupt + faults.stuck + faults.leftovers === 0,
        figure: `${faults.lost}/${faults.corrupt}/${faults.stuck}/${faults.leftovers} of ${faults.injected}`,
      },
      {
        name: "soak: 0 5xx, 0 unexpected answers, 0 SHA-256 mismatches",
        met: soaked.fivexx + soaked.unexpected + soaked.checksumMismatches === 0,
        figure: `${soaked.fivexx}/${soaked.unexpected}/${soaked.checksumMismatches}`,
      },
      ...soaked.memory.map((m) => ({
        name: `soak: ${m.name} RSS after within ${SOAK_GROWTH_LIMIT_MB} MB of before`,
        met: m.afterMB - m.beforeMB <= SOAK_GROWTH_LIMIT_MB,
        figure: `${(m.afterMB - m.beforeMB).toFixed(0)} MB`,
      })),
      // Once every process has grown to its working set in the first round, what later rounds add is
      // what the load keeps per request.
      ...(soaked.rounds > 1
        ? soaked.memory.map((m) => ({
            name: `soak: ${m.name} RSS after the last round within ${SOAK_GROWTH_LIMIT_MB} MB of after the first`,
            met: m.afterMB - m.roundsMB[0]! <= SOAK_GROWTH_LIMIT_MB,
            figure: `${(m.afterMB - m.roundsMB[0]!).toFixed(0)} MB over ${soaked.rounds - 1} more round(s)`,
          }))
        : []),
      {
        name: `soak: the primary's JavaScript heap after within ${HEAP_GROWTH_LIMIT_MB} MB of before`,
        met: soaked.heap.afterMB - soaked.heap.beforeMB <= HEAP_GROWTH_LIMIT_MB,
        figure: `${(soaked.heap.afterMB - soaked.heap.beforeMB).toFixed(1)} MB`,
      },
    ];
    lines.push("Goals:", ...goals.map((g) => `  ${g.met ? "met   " : "MISSED"} ${g.name}: ${g.figure}`));
    return {
      lines,
      goals,
      fuzz: { requests: fuzzed.requests, fivexx, outsideEnvelope, unanswered },
      faults,
      soak: {
        requests: soaked.requests,
        fivexx: soaked.fivexx,
        unexpected: soaked.unexpected,
        mismatches: soaked.checksumMismatches,
        growthMB,
        heapGrowthMB: soaked.heap.afterMB - soaked.heap.beforeMB,
      },
    };
  } finally {
    await campaign.stop();
  }
}

function readLoad(): string {
  try {
    return readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
  } catch {
    return "unknown";
  }
}
