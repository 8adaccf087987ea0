// Owns the benchmark's anchor for the primary's request rate: a trivial worker in the same miniflare
// (workerd) the stack runs: bare; behind the static-assets router the stack puts in front of /api
// (wrangler.toml [assets] with run_worker_first); and with the assets in a worker of their own and /api
// routed by miniflare straight to the trivial one. Loaded by wrk like the API figures: what the runtime
// itself answers on this machine is the ceiling any route can reach here.
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Miniflare } from "miniflare";
import { compatibilityDate, compatibilityFlags } from "../stack/primary.ts";

export interface WrkResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
}

const WRK = "/usr/bin/wrk";

/**
 * wrk against `url` with `connections` clients for `seconds`; its latency distribution parsed. A Lua
 * `script` may choose each request (wrk's -s).
 */
export async function runWrk(
  url: string,
  connections: number,
  seconds: number,
  headers: string[] = [],
  script?: string,
) {
  const args = [
    "-t2",
    `-c${connections}`,
    `-d${seconds}s`,
    "--latency",
    ...headers.flatMap((h) => ["-H", h]),
    ...(script ? ["-s", script] : []),
    url,
  ];
  const child = spawn(WRK, args, { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (chunk) => {
    out += String(chunk);
  });
  const code = await new Promise<number>((resolve, reject) => {
    child.on("error", () => reject(new Error(`${WRK} is not installed (Debian: apt-get install wrk).`)));
    child.on("close", (status) => resolve(status ?? 1));
  });
  if (code !== 0) throw new Error(`wrk exited with ${code}: ${out.slice(0, 300)}`);
  const ms = (label: string) => {
    const match = new RegExp(`${label}%\\s+([\\d.]+)(us|ms|s)`).exec(out);
    if (!match) return Number.NaN;
    const value = Number(match[1]);
    return match[2] === "us" ? value / 1000 : match[2] === "s" ? value * 1000 : value;
  };
  const rate = /Requests\/sec:\s+([\d.]+)/.exec(out);
  const errors = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  if (errors) throw new Error(`wrk saw ${errors[1]} error answers from ${url}`);
  return { requestsPerSecond: Number(rate?.[1] ?? Number.NaN), p50Ms: ms("50"), p99Ms: ms("99") };
}

const TRIVIAL = `export default { fetch() { return new Response("ok"); } }`;

type Layout = "bare" | "assetsRouter" | "routed";

function options(layout: Layout, dir: string) {
  const common = { compatibilityDate, compatibilityFlags, host: "127.0.0.1", port: 0 };
  const assets = (userWorker: boolean) => ({
    directory: dir,
    routerConfig: userWorker
      ? { has_user_worker: true, static_routing: { user_worker: ["/api/*"] } }
      : { has_user_worker: false },
    assetConfig: { not_found_handling: "single-page-application" as const },
  });
  if (layout === "bare") return { ...common, modules: true, script: TRIVIAL };
  if (layout === "assetsRouter") return { ...common, modules: true, script: TRIVIAL, assets: assets(true) };
  // The first worker answers what no route claims: the console's files.
  return {
    ...common,
    workers: [
      { name: "console", modules: true, script: TRIVIAL, assets: assets(false) },
      { name: "api", modules: true, script: TRIVIAL, routes: ["*/api/*"] },
    ],
  };
}

/** The trivial worker's rate in each layout, each at `connections` clients for `seconds`. */
export async function miniflareCeiling(
  connections: number,
  seconds: number,
): Promise<Record<Layout, WrkResult>> {
  const dir = await mkdtemp(join(tmpdir(), "flotilla-bench-mf-"));
  try {
    await writeFile(join(dir, "index.html"), "<!doctype html><title>console</title>");
    const run = async (layout: Layout): Promise<WrkResult> => {
      const miniflare = new Miniflare(options(layout, dir));
      try {
        const url = await miniflare.ready;
        return await runWrk(new URL("/api/ping", url).href, connections, seconds);
      } finally {
        await miniflare.dispose();
      }
    };
    return { bare: await run("bare"), assetsRouter: await run("assetsRouter"), routed: await run("routed") };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await miniflareCeiling(64, Number(process.env.BENCH_SECONDS ?? 10));
  console.log(JSON.stringify(result));
}
