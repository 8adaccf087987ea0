// Owns the benchmark's load on the primary's API routes, each beside the ceiling of its own client:
// listing a 2,000-file folder in 100-item pages at 64 clients (wrk with a Lua script cycling the
// pages; wrk's ceiling is miniflare's trivial worker, printed by primary-rates.ts), small uploads
// (init + one 1-byte part + complete) at 8 clients and a mixed 60-client load (list, upload and
// download of 4-64 KiB) from an undici-based closed-loop generator whose own ceiling is printed: the
// same flows against a trivial HTTP server in a process of its own. Figures only, never a gate.
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "libsql";
import { Pool } from "undici";
import type { Api } from "../acceptance/api.ts";
import { runWrk, type WrkResult } from "./primary-miniflare.ts";

export interface FlowResult {
  /** Completed flows (or operations) per second over the whole run. */
  perSecond: number;
  /** Latency percentiles per kind of operation, in ms. */
  kinds: Record<string, { count: number; p50Ms: number; p99Ms: number }>;
}

export type Call = (
  method: "GET" | "POST" | "PUT",
  path: string,
  body?: string | Uint8Array,
  type?: string,
) => Promise<string>;

/** One client's step: calls the API, answers the kind it was ("list", "upload", ...). */
type Step = (call: Call, client: number, round: number) => Promise<string>;

const percentile = (sorted: number[], p: number) =>
  sorted.length === 0
    ? Number.NaN
    : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

/** API calls over `pool` with the bearer `token`; a non-2xx answer throws with its text. */
function caller(pool: Pool, token: string | null): Call {
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  return async (method, path, body, type = "application/json") => {
    const answer = await pool.request({
      method,
      path,
      headers: body === undefined ? headers : { ...headers, "content-type": type },
      ...(body === undefined ? {} : { body }),
    });
    const text = await answer.body.text();
    if (answer.statusCode >= 300) {
      throw new Error(`${method} ${path}: ${answer.statusCode} ${text.slice(0, 200)}`);
    }
    return text;
  };
}

/**
 * `clients` closed loops (each runs its next step once its last one answered) over one undici pool
 * with a connection per client, for `seconds`. A non-2xx answer stops the run with its text.
 */
export async function closedLoop(
  origin: string,
  token: string | null,
  clients: number,
  seconds: number,
  step: Step,
): Promise<FlowResult> {
  const pool = new Pool(origin, { connections: clients, pipelining: 1 });
  const call = caller(pool, token);
  const latencies = new Map<string, number[]>();
  let done = 0;
  const end = performance.now() + seconds * 1000;
  try {
    await Promise.all(
      Array.from({ length: clients }, async (_, client) => {
        for (let round = 0; performance.now() < end; round++) {
          const started = performance.now();
          const kind = await step(call, client, round);
          const list = latencies.get(kind) ?? [];
          latencies.set(kind, list);
          list.push(performance.now() - started);
          done += 1;
        }
      }),
    );
  } finally {
    await pool.close();
  }
  const kinds: FlowResult["kinds"] = {};
  for (const [kind, list] of latencies) {
    const sorted = list.sort((a, b) => a - b);
    kinds[kind] = { count: sorted.length, p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99) };
  }
  return { perSecond: done / seconds, kinds };
}

/** A trivial HTTP server in a child process of its own: every request read whole, answered `{"id":"x"}`. */
async function startTrivialServer(): Promise<{ origin: string; stop(): Promise<void> }> {
  const source = `const http = require("node:http");
const server = http.createServer((req, res) => {
  req.resume();
  req.on("end", () => { res.writeHead(200, { "content-type": "application/json" }); res.end('{"id":"x","file":{"id":"x"},"items":[],"next_cursor":null}'); });
});
server.keepAliveTimeout = 60000;
server.listen(0, "127.0.0.1", () => console.log(server.address().port));`;
  const child = spawn(process.execPath, ["-e", source], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<string>((resolve, reject) => {
    child.stdout.once("data", (chunk) => resolve(String(chunk).trim()));
    child.once("error", reject);
  });
  return {
    origin: `http://127.0.0.1:${port}`,
    stop: async () => {
      child.kill();
      await new Promise((resolve) => child.once("close", resolve));
    },
  };
}

const ONE_BYTE = new Uint8Array([7]);

/**
 * A folder of `count` file rows in the user's personal space, written straight into the stack's
 * database file (only the listing reads them; their bytes are never fetched), and the paths of its
 * pages of `pageSize` items, cursor by cursor as a client walks them.
 */
export async function seedListing(
  user: Api,
  databasePath: string,
  policyId: string,
  runId: string,
  count: number,
  pageSize: number,
): Promise<string[]> {
  const folder = (await (
    await user.fetch("POST", "/api/v1/spaces/me/folders", { body: { name: `${runId}-listing` } })
  ).json()) as { id: string };
  const me = (await (await user.fetch("GET", "/api/v1/auth/me")).json()) as { user: { id: string } };
  const db = new Database(databasePath, { timeout: 5000 });
  try {
    const insert = db.prepare(
      `insert into files (id, space_kind, space_id, folder_id, name, size, sha256, content_type, policy_id,
        storage_key, location, created_by, created_at, updated_at)
       values (?, 'user', ?, ?, ?, ?, ?, 'application/octet-stream', ?, ?, null, ?, ?, ?)`,
    );
    const now = Date.now();
    db.transaction(() => {
      for (let i = 0; i < count; i++) {
        const id = `${runId}-f${i}`;
        const name = `file-${String(i).padStart(5, "0")}.bin`;
        insert.run(
          id,
          me.user.id,
          folder.id,
          name,
          i,
          "0".repeat(64),
          policyId,
          `files/${id}`,
          me.user.id,
          now,
          now,
        );
      }
    })();
  } finally {
    db.close();
  }
  const pages: string[] = [];
  let path: string | null = `/api/v1/spaces/me/items?folder_id=${folder.id}&limit=${pageSize}`;
  while (path) {
    pages.push(path);
    const page = (await (await user.fetch("GET", path)).json()) as { next_cursor: string | null };
    path = page.next_cursor
      ? `/api/v1/spaces/me/items?folder_id=${folder.id}&limit=${pageSize}&cursor=${encodeURIComponent(page.next_cursor)}`
      : null;
  }
  return pages;
}

/** init + one part + complete of a file of `bytes` bytes in the caller's personal space. */
export async function smallUpload(call: Call, name: string, bytes: Uint8Array): Promise<string> {
  const init = JSON.parse(
    await call("POST", "/api/v1/spaces/me/uploads", JSON.stringify({ name, size: bytes.byteLength })),
  ) as { id: string };
  await call("PUT", `/api/v1/uploads/${init.id}/parts/1`, bytes, "application/octet-stream");
  const done = JSON.parse(await call("POST", `/api/v1/uploads/${init.id}/complete`, "{}")) as {
    file: { id: string };
  };
  return done.file.id;
}

export interface LoadOptions {
  /** The user whose personal space is loaded (a relay_stream policy: every byte through the worker). */
  user: Api;
  /** A folder of the user's holding the listing's files, and the page paths that list it. */
  pages: string[];
  seconds: number;
  runId: string;
  log: (line: string) => void;
}

export interface LoadFigures {
  /** null: wrk is not installed (the reason is in `listingMissing`). */
  listing: WrkResult | null;
  listingMissing?: string;
  uploads: FlowResult;
  uploadsCeiling: FlowResult;
  mixed: FlowResult;
  mixedCeiling: FlowResult;
  /** The machine's 1-minute load average as each figure ended (listing, uploads, mixed). */
  load: string[];
}

/** The 1-minute load average ("" where /proc/loadavg does not exist). */
const loadAverage = async () => (await readFile("/proc/loadavg", "utf8").catch(() => "")).split(" ")[0] ?? "";

/** Mixed load: a listing page, a 4-64 KiB upload and a download of one of `files`, in turn. */
function mixedStep(pages: string[], files: string[], runId: string, payload: Uint8Array): Step {
  return async (call, client, round) => {
    const turn = (client + round) % 3;
    if (turn === 0) {
      await call("GET", pages[round % pages.length]!);
      return "list";
    }
    if (turn === 1) {
      const size = 4096 + ((client * 7919 + round * 104_729) % (60 * 1024));
      await smallUpload(call, `${runId}-mixed-${client}-${round}.bin`, payload.subarray(0, size));
      return "upload";
    }
    await call("GET", `/api/v1/spaces/me/files/${files[round % files.length]}/content`);
    return "download";
  };
}

/** Every load figure, each with its client's ceiling measured in the same run. */
export async function primaryLoad(options: LoadOptions): Promise<LoadFigures> {
  const { user, pages, seconds, runId, log } = options;
  const origin = user.baseUrl;
  const token = user.token!;
  const dir = await mkdtemp(join(tmpdir(), "flotilla-bench-wrk-"));
  const payload = new Uint8Array(64 * 1024).map((_, i) => (i * 31) & 0xff);
  const trivial = await startTrivialServer();
  try {
    log(`Listing a folder in ${pages.length} pages with wrk (64 clients)...`);
    const script = join(dir, "pages.lua");
    await writeFile(
      script,
      `local paths = { ${pages.map((p) => JSON.stringify(p)).join(", ")} }
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i % #paths) + 1])
end
`,
    );
    let listingMissing: string | undefined;
    const listing = await runWrk(
      new URL(pages[0]!, origin).href,
      64,
      seconds,
      [`authorization: Bearer ${token}`],
      script,
    ).catch((error: unknown) => {
      listingMissing = error instanceof Error ? error.message : String(error);
      return null;
    });

    const load = [await loadAverage()];
    log("Small uploads (init + 1 byte + complete) at 8 clients...");
    const uploadStep: Step = async (call, client, round) => {
      await smallUpload(call, `${runId}-small-${client}-${round}.bin`, ONE_BYTE);
      return "file";
    };
    const uploads = await closedLoop(origin, token, 8, seconds, uploadStep);
    load.push(await loadAverage());
    const uploadsCeiling = await closedLoop(trivial.origin, null, 8, seconds, uploadStep);

    log("Mixed load at 60 clients (list, upload and download of 4-64 KiB)...");
    const files: string[] = [];
    const seeding = new Pool(origin, { connections: 1 });
    try {
      for (let i = 0; i < 30; i++) {
        const size = 4096 + ((i * 104_729) % (60 * 1024));
        files.push(
          await smallUpload(caller(seeding, token), `${runId}-download-${i}.bin`, payload.subarray(0, size)),
        );
      }
    } finally {
      await seeding.close();
    }
    const mixed = await closedLoop(origin, token, 60, seconds, mixedStep(pages, files, runId, payload));
    load.push(await loadAverage());
    const mixedCeiling = await closedLoop(
      trivial.origin,
      null,
      60,
      seconds,
      mixedStep(pages, ["x"], runId, payload),
    );
    return {
      listing,
      ...(listingMissing ? { listingMissing } : {}),
      uploads,
      uploadsCeiling,
      mixed,
      mixedCeiling,
      load,
    };
  } finally {
    await trivial.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

const ms = (value: number) => `${value.toFixed(1)} ms`;

/** The report's lines: each figure, its client's ceiling and its goal. */
export function loadLines(f: LoadFigures, anchor: WrkResult | undefined): string[] {
  const kind = (r: FlowResult, name: string) =>
    r.kinds[name] ?? { count: 0, p50Ms: Number.NaN, p99Ms: Number.NaN };
  const up = kind(f.mixed, "upload");
  return [
    `The primary's API under load (figure; the client's own ceiling; goal; load average as each ended: ${f.load.join(", ")}):`,
    f.listing
      ? `  listing 2,000 files, 100/page, 64 clients  ${f.listing.requestsPerSecond.toFixed(0)} req/s  p50 ${ms(f.listing.p50Ms)}  p99 ${ms(f.listing.p99Ms)}` +
        (anchor ? `  (wrk vs a trivial worker: ${anchor.requestsPerSecond.toFixed(0)} req/s)` : "") +
        `  goal >= 1000 req/s: ${(f.listing.requestsPerSecond / 1000).toFixed(2)}x, p99 <= 100 ms`
      : `  listing not measured: ${f.listingMissing}`,
    `  small uploads (init + 1 B + complete), 8 clients  ${f.uploads.perSecond.toFixed(0)} files/s  p50 ${ms(kind(f.uploads, "file").p50Ms)}  p99 ${ms(kind(f.uploads, "file").p99Ms)}` +
      `  (client vs a trivial server: ${f.uploadsCeiling.perSecond.toFixed(0)} flows/s)  goal >= 150 files/s: ${(f.uploads.perSecond / 150).toFixed(2)}x`,
    `  mixed, 60 clients  ${f.mixed.perSecond.toFixed(0)} ops/s; ` +
      Object.entries(f.mixed.kinds)
        .map(([name, k]) => `${name} ${k.count} p50 ${ms(k.p50Ms)} p99 ${ms(k.p99Ms)}`)
        .join("; ") +
      `  (client vs a trivial server: ${f.mixedCeiling.perSecond.toFixed(0)} ops/s)  goal upload p99 <= 500 ms: ${(up.p99Ms / 500).toFixed(2)}x of it`,
  ];
}
