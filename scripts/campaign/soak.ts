// Owns the campaign's soak: `clients` clients for `rounds` rounds of `seconds`, each looping over a
// mixed load (list the root, upload a file of 4-64 KiB through relay_stream to the follower, download
// a file uploaded earlier and check its SHA-256), with the resident memory of every process of the
// stack (workerd, the agent, the libSQL server) before, at peak and after each round, and the
// primary's JavaScript heap after a full collection (what it keeps alive). Beside it, the anchor: a bare worker
// (`new Response("ok")`) in a Miniflare of its own, sent as many requests at the same concurrency,
// so the figures show what workerd itself keeps per request and what the primary adds.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { Miniflare } from "miniflare";
import { findWorkerds, PhaseMemory } from "../bench/memory.ts";
import { compatibilityDate, PRIMARY_WORKER } from "../stack/primary.ts";
import { isolateHeapsMB, retainedHeap } from "./heap.ts";
import type { CampaignStack } from "./setup.ts";
import { downloadSha, initUpload, sendPart, sha256Of } from "./transfer.ts";

const KiB = 1024;

export interface ProcessMemory {
  name: string;
  beforeMB: number;
  peakMB: number;
  /** After each round, once the load is over and the process had a moment. */
  roundsMB: number[];
  afterMB: number;
}

/**
 * The primary's JavaScript heap after a full collection (heap.ts), before the load and after it, and
 * what V8 holds for all of workerd's isolates (garbage included) at the same moments: the rest of
 * workerd's resident memory is workerd's own.
 */
export interface WorkerHeap {
  beforeMB: number;
  afterMB: number;
  isolatesBeforeMB: number;
  isolatesAfterMB: number;
}

export interface SoakResult {
  clients: number;
  rounds: number;
  seconds: number;
  requests: number;
  uploads: number;
  downloads: number;
  lists: number;
  fivexx: number;
  /** Answers that were neither the expected success nor a 5xx (each named in `problems`). */
  unexpected: number;
  checksumMismatches: number;
  problems: string[];
  memory: ProcessMemory[];
  heap: WorkerHeap;
  anchor: { requests: number; seconds: number; memory: ProcessMemory } | undefined;
}

function rssMB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? Number.NaN);
  return (kb * 1024) / 1e6;
}

const pause = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** A small seeded generator (mulberry32), so a seed gives the same mix of operations. */
function rng(seed: number) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Memory of `pids` (name -> pid) around `rounds` runs of `work`: idle before, peak during, idle after
 * each round (a settle of 5 s). `idle` runs once after the first reading and once after the last:
 * what it allocates itself (a heap snapshot) counts against the figures, never for them.
 */
async function measured(
  pids: Record<string, number>,
  rounds: number,
  work: (round: number) => Promise<void>,
  idle: () => Promise<void> = async () => undefined,
): Promise<ProcessMemory[]> {
  await pause(2000);
  const before = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, rssMB(pid)]));
  await idle();
  const peaks = Object.fromEntries(Object.keys(pids).map((name) => [name, 0]));
  const after = Object.fromEntries(Object.keys(pids).map((name) => [name, [] as number[]]));
  for (let round = 0; round < rounds; round++) {
    const phases = Object.fromEntries(
      Object.entries(pids).map(([name, pid]) => [name, new PhaseMemory(pid)]),
    );
    await work(round);
    for (const [name, phase] of Object.entries(phases))
      peaks[name] = Math.max(peaks[name]!, phase.stop().peakMB);
    // What stays once the load is over (garbage collection and idle trimming given a moment).
    await pause(5000);
    for (const [name, pid] of Object.entries(pids)) {
      const now = rssMB(pid);
      peaks[name] = Math.max(peaks[name]!, now);
      after[name]!.push(now);
    }
  }
  await idle();
  return Object.keys(pids).map((name) => ({
    name,
    beforeMB: before[name]!,
    peakMB: peaks[name]!,
    roundsMB: after[name]!,
    afterMB: after[name]!.at(-1)!,
  }));
}

export async function soak(
  campaign: CampaignStack,
  options: {
    clients: number;
    /** Rounds of `seconds` each; memory is read after every one, so growth that levels off shows. */
    rounds: number;
    seconds: number;
    seed: number;
    anchor: boolean;
    log: (line: string) => void;
  },
): Promise<SoakResult> {
  const { user } = campaign;
  const files: { id: string; sha256: string }[] = [];
  const counts = { requests: 0, uploads: 0, downloads: 0, lists: 0, fivexx: 0, unexpected: 0, mismatches: 0 };
  const problems: string[] = [];
  const note = (status: number, what: string, text: string) => {
    if (status >= 500) counts.fivexx++;
    else counts.unexpected++;
    if (problems.length < 20) problems.push(`${what}: ${status} ${text.slice(0, 160)}`);
  };
  const upload = async (random: () => number) => {
    const size = 4 * KiB + Math.floor(random() * 60 * KiB);
    const data = new Uint8Array(randomBytes(size));
    counts.requests++;
    const session = await initUpload(user, `soak-${files.length}-${size}.bin`, data).catch((error) => {
      note(0, "upload init", String(error));
      return undefined;
    });
    if (!session) return;
    counts.requests++;
    const part = await sendPart(user, session.id, 1, data);
    if (part.status !== 200) return note(part.status, "upload part", await part.text());
    await part.arrayBuffer();
    counts.requests++;
    const done = await user.fetch("POST", `/api/v1/uploads/${session.id}/complete`, { body: {} });
    const text = await done.text();
    if (done.status !== 200) return note(done.status, "upload complete", text);
    files.push({ id: (JSON.parse(text) as { file: { id: string } }).file.id, sha256: sha256Of(data) });
    counts.uploads++;
  };
  const download = async (random: () => number) => {
    const file = files[Math.floor(random() * files.length)];
    if (!file) return;
    counts.requests++;
    const got = await downloadSha(user, file.id);
    if (got.problem) return note(Number(/\d{3}/.exec(got.problem)?.[0] ?? 0), "download", got.problem);
    counts.downloads++;
    if (got.sha256 !== file.sha256) {
      counts.mismatches++;
      if (problems.length < 20) problems.push(`download ${file.id}: SHA-256 differs`);
    }
  };
  const list = async () => {
    counts.requests++;
    const response = await user.fetch("GET", "/api/v1/spaces/me/items?limit=50");
    const text = await response.text();
    if (response.status !== 200) return note(response.status, "list", text);
    counts.lists++;
  };

  const workerd = findWorkerds(process.pid)[0]!;
  const pids: Record<string, number> = {
    workerd,
    agent: campaign.follower.child.pid!,
    libsql: campaign.stack.libsqlProcess!.pid()!,
  };
  const heaps: { primaryMB: number; isolatesMB: number }[] = [];
  let seconds = 0;
  const memory = await measured(
    pids,
    options.rounds,
    async (round) => {
      const started = performance.now();
      const deadline = Date.now() + options.seconds * 1000;
      await Promise.all(
        Array.from({ length: options.clients }, async (_, client) => {
          const random = rng((options.seed * 1000 + round) * 10_000 + client);
          await upload(random).catch((error) => note(0, "upload", String(error)));
          while (Date.now() < deadline) {
            const pick = random();
            const op = pick < 0.4 ? list() : pick < 0.7 ? upload(random) : download(random);
            await op.catch((error) => note(0, "request", String(error)));
          }
        }),
      );
      seconds += (performance.now() - started) / 1000;
      options.log(`  soak round ${round + 1}/${options.rounds}: ${counts.requests} requests so far`);
    },
    async () => {
      const isolatesMB = await isolateHeapsMB(campaign.inspectorPort);
      const primary = await retainedHeap(campaign.inspectorPort, PRIMARY_WORKER);
      heaps.push({ primaryMB: primary.usedMB + primary.buffersMB, isolatesMB });
    },
  );
  const heap = {
    beforeMB: heaps[0]!.primaryMB,
    afterMB: heaps[1]!.primaryMB,
    isolatesBeforeMB: heaps[0]!.isolatesMB,
    isolatesAfterMB: heaps[1]!.isolatesMB,
  };
  options.log(`  soak: ${counts.requests} requests in ${seconds.toFixed(0)} s`);
  const anchor = options.anchor ? await bareAnchor(counts.requests, options.clients) : undefined;
  return {
    clients: options.clients,
    rounds: options.rounds,
    seconds,
    requests: counts.requests,
    uploads: counts.uploads,
    downloads: counts.downloads,
    lists: counts.lists,
    fivexx: counts.fivexx,
    unexpected: counts.unexpected,
    checksumMismatches: counts.mismatches,
    problems,
    memory,
    heap,
    anchor,
  };
}

/** A bare worker in a Miniflare of its own, sent `requests` GETs by `clients` clients. */
async function bareAnchor(requests: number, clients: number) {
  const before = new Set(findWorkerds(process.pid));
  const miniflare = new Miniflare({
    modules: true,
    script: 'export default { fetch() { return new Response("ok"); } };',
    compatibilityDate,
    host: "127.0.0.1",
    port: 0,
  });
  try {
    const url = await miniflare.ready;
    const pid = findWorkerds(process.pid).find((p) => !before.has(p));
    if (pid === undefined) throw new Error("the anchor's workerd was not found");
    let seconds = 0;
    let sent = 0;
    const [memory] = await measured({ "workerd (bare worker)": pid }, 1, async () => {
      const started = performance.now();
      await Promise.all(
        Array.from({ length: clients }, async () => {
          while (sent < requests) {
            sent++;
            const response = await fetch(url);
            await response.arrayBuffer();
          }
        }),
      );
      seconds = (performance.now() - started) / 1000;
    });
    return { requests: sent, seconds, memory: memory! };
  } finally {
    await miniflare.dispose();
  }
}

export function soakLines(result: SoakResult): string[] {
  const mb = (value: number) => `${value.toFixed(0)} MB`;
  const row = (m: ProcessMemory) =>
    `  ${m.name.padEnd(22)} RSS before ${mb(m.beforeMB).padStart(7)}  peak ${mb(m.peakMB).padStart(7)}  after ${m.roundsMB.length > 1 ? `each round ${m.roundsMB.map(mb).join(", ")}` : mb(m.afterMB)}  (after - before ${mb(m.afterMB - m.beforeMB)}${m.roundsMB.length > 1 ? `, last round - first ${mb(m.afterMB - m.roundsMB[0]!)}` : ""})`;
  const lines = [
    `Soak: ${result.clients} clients, ${result.rounds} round(s), ${result.seconds.toFixed(0)} s: ${result.requests} requests (${(result.requests / result.seconds).toFixed(0)}/s), ${result.uploads} uploads, ${result.downloads} downloads checked, ${result.lists} lists`,
    `  5xx ${result.fivexx}, other unexpected answers ${result.unexpected}, SHA-256 mismatches ${result.checksumMismatches}`,
    ...result.memory.map(row),
  ];
  const { heap } = result;
  lines.push(
    `  the primary's JavaScript heap (objects and buffers alive after a full collection): before ${heap.beforeMB.toFixed(1)} MB, after ${heap.afterMB.toFixed(1)} MB`,
    `  V8's heaps of all of workerd's isolates (garbage included): before ${mb(heap.isolatesBeforeMB)}, after ${mb(heap.isolatesAfterMB)}; the rest of workerd's RSS is its own (the first heap snapshot, taken after the RSS before was read, counts in the growth)`,
  );
  if (result.anchor) {
    lines.push(
      `  anchor: the bare worker, ${result.anchor.requests} requests in ${result.anchor.seconds.toFixed(0)} s at the same concurrency:`,
      row(result.anchor.memory),
    );
  }
  for (const problem of result.problems.slice(0, 10)) lines.push(`  FAIL ${problem}`);
  return lines;
}
