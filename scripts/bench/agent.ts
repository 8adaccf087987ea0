// Owns the agent's own figures against the machine, measured in one run with curl as the client: disk
// write + fsync as the anchor of every upload (a single PUT, and a multipart upload of parts in
// parallel including its completion), nginx serving the same file as the anchor of every download
// (whole and ranged), curl against nginx as the client's ceiling, and the agent's memory above idle in
// each phase. Every transfer's SHA-256 is checked by the agent; each phase keeps its best round.
import { open, rm } from "node:fs/promises";
import { join } from "node:path";
import type { createFollowerClient } from "../../shared/protocol/client.ts";
import { paths } from "../../shared/protocol/keys.ts";
import { type Credentials, signRequest } from "../../shared/protocol/signing.ts";
import { agentReport, type Name, type Sample } from "./agent-report.ts";
import { curlGet, curlPut } from "./curl.ts";
import type { Payload } from "./data.ts";
import { diskWriteSeconds } from "./machine.ts";
import { PhaseMemory } from "./memory.ts";
import type { Nginx } from "./nginx.ts";
import type { Plan } from "./transfers.ts";

export interface AgentBench {
  url: string;
  pid: number;
  client: ReturnType<typeof createFollowerClient>;
  credentials: Credentials;
  /** The local ingress target's directory: objects land at <targetDir>/<key>, nginx serves it. */
  targetDir: string;
  /** A scratch directory on the same disk for curl's source files. */
  workDir: string;
  nginx: Nginx | null;
  payload: Payload;
  plan: Plan;
  repeat: number;
  log: (line: string) => void;
}

async function writeFileFrom(path: string, chunks: Iterable<Uint8Array>): Promise<void> {
  const file = await open(path, "w");
  try {
    for (const chunk of chunks) await file.write(chunk);
    // On disk before anything is measured, so no write-back of these files competes with a phase.
    await file.sync();
  } finally {
    await file.close();
  }
}

async function signed(
  bench: AgentBench,
  method: string,
  path: string,
  body: "unsigned" | null,
): Promise<Record<string, string>> {
  const headers = await signRequest({ method, path, credentials: bench.credentials, body });
  return Object.fromEntries(headers.entries());
}

function expectStatus(what: string, got: { status: number; body: string }, want: number[]): void {
  if (!want.includes(got.status))
    throw new Error(`${what} answered ${got.status}: ${got.body.slice(0, 300)}`);
}

export async function benchAgent(bench: AgentBench): Promise<string[]> {
  const { payload, plan, log } = bench;
  const size = payload.size;
  const whole = join(bench.workDir, "whole.bin");
  const parts = Array.from({ length: Math.ceil(size / plan.partSize) }, (_, i) => ({
    number: i + 1,
    offset: i * plan.partSize,
    length: Math.min(plan.partSize, size - i * plan.partSize),
    path: join(bench.workDir, `part-${i + 1}.bin`),
  }));
  log("Agent figures: writing curl's source files...");
  await writeFileFrom(whole, payload.chunks(0, size));
  for (const part of parts) await writeFileFrom(part.path, payload.chunks(part.offset, part.length));
  const sha256 = payload.sha256();
  const rangeStart = Math.floor(size / 4);
  const rangeLength = Math.max(1, Math.floor(size / 2));
  const range = `${rangeStart}-${rangeStart + rangeLength - 1}`;

  const samples: Sample[] = [];
  const phase = async (name: Name, bytes: number, agentBound: boolean, work: () => Promise<unknown>) => {
    log(`  ${name}...`);
    const memory = agentBound ? new PhaseMemory(bench.pid) : null;
    const started = performance.now();
    try {
      const result = await work();
      const note = typeof result === "string" ? result : undefined;
      const seconds = (performance.now() - started) / 1000;
      samples.push({ name, seconds, bytes, memory: memory?.stop() ?? null, note });
    } catch (error) {
      memory?.stop();
      log(`  ${name} failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  };

  for (let round = 1; round <= bench.repeat; round++) {
    if (bench.repeat > 1) log(`Agent round ${round} of ${bench.repeat}`);
    const single = `bench-agent/single-${round}.bin`;
    const multi = `bench-agent/multi-${round}.bin`;
    await phase("disk write + fsync", size, false, async () => {
      await diskWriteSeconds(bench.targetDir, size);
    });
    if (bench.nginx) {
      const nginx = bench.nginx;
      await phase("curl PUT ceiling (nginx)", size, false, async () => {
        const got = await curlPut(`${nginx.url}/sink/whole-${round}.bin`, whole);
        expectStatus("nginx PUT", got, [201, 204]);
      });
      await nginx.clearSink();
    }
    await phase("agent single PUT", size, true, async () => {
      const path = `${paths.object(single)}?size=${size}&sha256=${sha256}`;
      const got = await curlPut(`${bench.url}${path}`, whole, await signed(bench, "PUT", path, "unsigned"));
      expectStatus("agent PUT", got, [201]);
    });
    await phase("agent multipart PUT+complete", size, true, async () => {
      const session = await bench.client.createMultipart({
        key: multi,
        content_type: "application/octet-stream",
        part_size: plan.partSize,
      });
      const queue = [...parts];
      await Promise.all(
        Array.from({ length: Math.min(plan.concurrency, queue.length) }, async () => {
          for (let part = queue.shift(); part; part = queue.shift()) {
            const path = `${paths.multipartPart(session.upload_id, part.number)}?size=${part.length}`;
            const headers = await signed(bench, "PUT", path, "unsigned");
            expectStatus(
              `part ${part.number}`,
              await curlPut(`${bench.url}${path}`, part.path, headers),
              [200],
            );
          }
        }),
      );
      const completing = performance.now();
      const info = await bench.client.completeMultipart(session.upload_id, {
        parts: parts.map((p) => ({ part_number: p.number })),
        size,
        sha256,
      });
      if (info.sha256 !== sha256) throw new Error("the agent stored other bytes");
      return `completion ${((performance.now() - completing) / 1000).toFixed(2)} s`;
    });
    const get = async (
      name: Name,
      url: string,
      headers: () => Promise<Record<string, string>>,
      r?: string,
    ) => {
      const want = r ? rangeLength : size;
      await phase(name, want, name.startsWith("agent"), async () => {
        const got = await curlGet(url, await headers(), r);
        expectStatus(name, got, [r ? 206 : 200]);
        if (got.bytes !== want) throw new Error(`${name} got ${got.bytes} bytes, not ${want}`);
      });
    };
    const agentGet = paths.object(single);
    const agentHeaders = () => signed(bench, "GET", agentGet, null);
    const nginxUrl = bench.nginx ? `${bench.nginx.url}/${single}` : null;
    if (nginxUrl) await get("nginx GET whole", nginxUrl, async () => ({}));
    await get("agent GET whole", `${bench.url}${agentGet}`, agentHeaders);
    if (nginxUrl) await get("nginx GET ranged", nginxUrl, async () => ({}), range);
    await get("agent GET ranged", `${bench.url}${agentGet}`, agentHeaders, range);
    for (const key of [single, multi]) {
      await bench.client.deleteObject(key).catch((error) => log(`  could not delete ${key}: ${error}`));
    }
  }
  await rm(whole, { force: true });
  for (const part of parts) await rm(part.path, { force: true });
  return agentReport(samples, size, { plan: bench.plan, repeat: bench.repeat, nginx: bench.nginx !== null });
}
