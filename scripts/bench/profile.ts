// `npm run bench:profile`: where the primary spends its CPU on one route. A throwaway single-box stack
// (the campaign's), a root folder of 100 folders for the campaign's user, then wrk on the route with
// the user's token while V8's sampling profiler runs in the primary's isolate (through workerd's
// inspector). Prints the rate and the functions by self time; writes the profile (.cpuprofile, for
// Chrome DevTools' Performance panel or speedscope) with --out.
// With --uploads, the load is small uploads (init + one 1-byte part + complete) in a closed loop instead.
//   npm run bench:profile -- [--path /api/v1/spaces/me/items?limit=100 | --uploads] [--seconds 10] [--clients 32] [--out FILE]
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startCampaignStack } from "../campaign/setup.ts";
import { stackPaths } from "../stack/config.ts";
import { inspect, workerTarget } from "../stack/inspector.ts";
import { PRIMARY_WORKER } from "../stack/primary.ts";
import { closedLoop, smallUpload } from "./primary-load.ts";
import { runWrk } from "./primary-miniflare.ts";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
}

const { values } = parseArgs({
  options: {
    path: { type: "string", default: "/api/v1/spaces/me/items?limit=100" },
    seconds: { type: "string", default: "10" },
    clients: { type: "string", default: "32" },
    out: { type: "string" },
    uploads: { type: "boolean", default: false },
  },
});
const seconds = Number(values.seconds);
const clients = Number(values.clients);
if (!values.path.startsWith("/") || !(seconds >= 1) || !(clients >= 1)) {
  console.error("--path must start with /, --seconds and --clients must be at least 1.");
  process.exit(2);
}

/**
 * The source a line of the bundle came from: esbuild heads each module with a `// path` comment,
 * so the nearest one above the line names it (node_modules/..., worker/...).
 */
function sourceOf(bundle: string[]): (line: number) => string {
  const heads: [number, string][] = [];
  bundle.forEach((text, index) => {
    const head = /^\/\/ ((?:node_modules|worker|shared)\/\S+)$/.exec(text);
    if (head) heads.push([index, head[1]!]);
  });
  return (line) => heads.findLast(([index]) => index <= line)?.[1] ?? "worker.mjs";
}

/** Self time per function (name, source module and bundle line), largest first, as shares of all samples. */
function selfTimes(profile: Profile, bundle: string[]): { share: number; where: string }[] {
  const source = sourceOf(bundle);
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const counts = new Map<string, number>();
  for (const id of profile.samples) {
    const frame = nodes.get(id)?.callFrame;
    if (!frame) continue;
    const file =
      frame.url === "" ? "(native)" : `${source(frame.lineNumber)} (bundle line ${frame.lineNumber + 1})`;
    const where = `${frame.functionName || "(anonymous)"}  ${file}`;
    counts.set(where, (counts.get(where) ?? 0) + 1);
  }
  const total = profile.samples.length || 1;
  return [...counts]
    .map(([where, count]) => ({ share: count / total, where }))
    .sort((a, b) => b.share - a.share);
}

const campaign = await startCampaignStack((line) => console.error(line));
try {
  for (let i = 0; i < 100; i++) {
    const made = await campaign.user.fetch("POST", "/api/v1/spaces/me/folders", {
      body: { name: `folder-${i}` },
    });
    if (made.status !== 201) throw new Error(`folder ${i}: ${made.status} ${await made.text()}`);
  }
  const url = `${campaign.origin}${values.path}`;
  const headers = [`authorization: Bearer ${campaign.user.token}`];
  const byte = new Uint8Array([7]);
  const load = async (duration: number) => {
    if (!values.uploads) return runWrk(url, clients, duration, headers);
    const flows = await closedLoop(
      campaign.origin,
      campaign.user.token!,
      clients,
      duration,
      async (call, client, round) => {
        await smallUpload(call, `profile-${duration}-${client}-${round}.bin`, byte);
        return "upload";
      },
    );
    const kind = flows.kinds.upload;
    return {
      requestsPerSecond: flows.perSecond,
      p50Ms: kind?.p50Ms ?? Number.NaN,
      p99Ms: kind?.p99Ms ?? Number.NaN,
    };
  };
  // A first pass warms the isolate (compiled code, pooled connections) before anything is sampled.
  await load(3);
  const session = await inspect(campaign.inspectorPort, workerTarget(PRIMARY_WORKER));
  await session.call("Profiler.enable");
  await session.call("Profiler.setSamplingInterval", { interval: 200 });
  await session.call("Profiler.start");
  const rate = await load(seconds);
  const { profile } = (await session.call("Profiler.stop")) as { profile: Profile };
  session.close();
  if (values.out) await writeFile(values.out, JSON.stringify(profile));
  const what = values.uploads ? "small uploads (init + 1 B + complete)" : values.path;
  console.log(`${what}, ${clients} clients, ${seconds} s, profiled (200 us sampling):`);
  console.log(
    `  ${rate.requestsPerSecond.toFixed(0)} ${values.uploads ? "files" : "req"}/s, p50 ${rate.p50Ms.toFixed(1)} ms, p99 ${rate.p99Ms.toFixed(1)} ms`,
  );
  const bundle = (await readFile(join(stackPaths(campaign.dataDir).build, "worker.mjs"), "utf8")).split("\n");
  console.log(`  ${profile.samples.length} samples; the functions by self time:`);
  for (const { share, where } of selfTimes(profile, bundle).slice(0, 30)) {
    console.log(`  ${(share * 100).toFixed(1).padStart(5)}%  ${where}`);
  }
  if (values.out) console.log(`  profile written to ${values.out}`);
} finally {
  await campaign.stop();
}
