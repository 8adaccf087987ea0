// Owns the campaign's fault injection: an upload through relay_stream to the follower is cut in the
// middle of a part by one fault (the agent SIGKILLed, workerd SIGKILLed, the libSQL server stopped,
// the client gone, the follower's disk full under the part's second half) or its completion meets
// the S3 store behind the follower's S3 target down (s3_down); the killed part is started again in place, and the upload is resumed as a client
// would (the session's missing parts sent again, then completed, retrying what failed). Then nothing
// may be lost: the file is listed, its download has the SHA-256 sent, the session is completed and
// no longer among the open ones, and the follower keeps no temp or staged part files.
import { randomBytes } from "node:crypto";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { makeDefault } from "../acceptance/targets.ts";
import { findWorkerd } from "../bench/memory.ts";
import { type CampaignStack, diskFaultsAvailable } from "./setup.ts";
import {
  downloadSha,
  initUpload,
  listed,
  partBytes,
  resumeUpload,
  sendPart,
  sha256Of,
  withRetries,
} from "./transfer.ts";

export const FAULT_KINDS = [
  "agent_killed",
  "workerd_killed",
  "libsql_stopped",
  "client_gone",
  "disk_full",
  "s3_down",
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];
/** The faults that cut a part halfway (s3_down meets a completion instead: runS3Fault). */
type CutFault = Exclude<FaultKind, "s3_down">;

/** The kinds this machine can inject (disk_full needs a disk of the campaign's own: setup.ts). */
export function faultKinds(): FaultKind[] {
  return FAULT_KINDS.filter((kind) => kind !== "disk_full" || diskFaultsAvailable());
}

export interface FaultOutcome {
  kind: FaultKind;
  /** What the part cut by the fault answered (status, or the client's error). */
  cutAnswer: string;
  lost: boolean;
  corrupt: boolean;
  stuck: boolean;
  leftovers: string[];
  problem?: string;
  tries: number;
  seconds: number;
}

/** How long a resumed upload may take (a restart, the client's retries) before it counts as stuck. */
const RESUME_BUDGET_MS = 90_000;

/** Temp files, staged parts and half-written records anywhere under the follower's directories. */
export async function followerLeftovers(dirs: string[]): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string, depth: number): Promise<void> => {
    if (depth > 12) return;
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      const path = join(dir, entry.name);
      const inTmp = dir.endsWith(join(".flotilla", "tmp"));
      const staged = dir.endsWith(join(".flotilla", "multipart"));
      if (inTmp || staged || entry.name.endsWith(".tmp")) found.push(path);
      else if (entry.isDirectory()) await walk(path, depth + 1);
    }
  };
  for (const dir of dirs) await walk(dir, 0);
  return found;
}

/** A part body that sends its first half, then waits for `cut` before sending the rest. */
function cutBody(bytes: Uint8Array<ArrayBuffer>, halfSent: () => void, cut: Promise<"rest" | "fail">) {
  const half = Math.floor(bytes.length / 2);
  let step = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (step === 0) {
        step = 1;
        for (let at = 0; at < half; at += 64 * 1024)
          controller.enqueue(bytes.slice(at, Math.min(half, at + 64 * 1024)));
        return;
      }
      if (step === 1) {
        step = 2;
        halfSent();
        const then = await cut;
        if (then === "fail") {
          controller.error(new Error("the client went away"));
          return;
        }
        controller.enqueue(bytes.slice(half));
        return;
      }
      controller.close();
    },
  });
}

const pause = (ms: number) => new Promise((done) => setTimeout(done, ms));

async function inject(
  campaign: CampaignStack,
  kind: CutFault,
  abort: AbortController,
): Promise<() => Promise<void>> {
  switch (kind) {
    case "agent_killed": {
      const child = campaign.follower.child;
      const exited = new Promise<void>((done) => child.once("exit", () => done()));
      child.kill("SIGKILL");
      await exited;
      return async () => {
        campaign.follower = await campaign.follower.restart();
      };
    }
    case "workerd_killed": {
      process.kill(findWorkerd(process.pid), "SIGKILL");
      return () => campaign.stack.primary.restart();
    }
    case "libsql_stopped": {
      const libsql = campaign.stack.libsqlProcess!;
      await libsql.stop("SIGKILL");
      // Down for a moment, as a restart of the database would be.
      return async () => {
        await pause(500);
        await libsql.start();
      };
    }
    case "client_gone": {
      abort.abort(new Error("the client went away"));
      return async () => undefined;
    }
    case "disk_full": {
      // Room for a few pages more than what is written: the part's second half does not fit.
      const disk = campaign.disk!;
      await disk.fill(64 * 1024);
      return async () => {
        await pause(200);
        await disk.free();
      };
    }
  }
}

/** One fault's file (two and a half parts of random bytes), its outcome, and how it is closed. */
function faultRun(campaign: CampaignStack, kind: FaultKind) {
  const started = performance.now();
  const data = new Uint8Array(randomBytes(Math.floor(campaign.partSize * 2.5)));
  const outcome: FaultOutcome = {
    kind,
    cutAnswer: "",
    lost: false,
    corrupt: false,
    stuck: false,
    leftovers: [],
    tries: 0,
    seconds: 0,
  };
  const finish = (problem?: string) => {
    if (problem) outcome.problem = problem;
    outcome.seconds = (performance.now() - started) / 1000;
    return outcome;
  };
  return { data, outcome, finish };
}

/**
 * An upload to the follower's S3 target (the session pins the target when it starts) whose parts are
 * all in, completed while the S3 store is down: the completion is refused with a code and leaves no
 * file; with the store back, completing again (as a client retries) makes the file, whole.
 */
async function runS3Fault(campaign: CampaignStack, index: number): Promise<FaultOutcome> {
  const { user, s3 } = campaign;
  const { data, outcome, finish } = faultRun(campaign, "s3_down");
  await makeDefault(campaign.admin, s3.node, s3.target);
  let upload: { id: string; chunk_size: number; part_count: number };
  try {
    upload = await initUpload(user, `fault-${index}-s3_down.bin`, data);
  } finally {
    await makeDefault(campaign.admin, s3.node, s3.local);
  }
  for (let n = 1; n <= upload.part_count; n++) {
    const sent = await withRetries(
      () => sendPart(user, upload.id, n, partBytes(data, upload.chunk_size, n)),
      RESUME_BUDGET_MS,
    );
    if (sent.status !== 200) return finish(`part ${n}: ${sent.status} ${sent.text.slice(0, 200)}`);
  }
  await s3.stop();
  const refused = await Promise.race([
    user.fetch("POST", `/api/v1/uploads/${upload.id}/complete`, { body: {} }).then(
      async (response) => `${response.status} ${(await response.text()).slice(0, 120)}`,
      (error: unknown) => `no answer (${error instanceof Error ? error.message : String(error)})`,
    ),
    pause(60_000).then(() => "no answer within 60 s"),
  ]);
  outcome.cutAnswer = refused;
  await s3.start();
  if (/^2/.test(refused)) return finish(`completed while the S3 store was down: ${refused}`);
  if (!/"code":"[a-z_]+"/.test(refused)) return finish(`refused without an error code: ${refused}`);
  return checkResumed(campaign, outcome, upload.id, data, finish);
}

export async function runFault(
  campaign: CampaignStack,
  kind: CutFault,
  index: number,
): Promise<FaultOutcome> {
  const { user } = campaign;
  const { data, outcome, finish } = faultRun(campaign, kind);
  const init = await withRetries(async () => {
    const upload = await initUpload(user, `fault-${index}-${kind}.bin`, data);
    return new Response(JSON.stringify(upload), { status: 201 });
  }, RESUME_BUDGET_MS).catch((error) => ({ status: 0, text: String(error), tries: 1 }));
  if (init.status !== 201) return finish(`init: ${init.status} ${init.text.slice(0, 200)}`);
  const upload = JSON.parse(init.text) as { id: string; chunk_size: number };
  const first = await withRetries(
    () => sendPart(user, upload.id, 1, partBytes(data, upload.chunk_size, 1)),
    RESUME_BUDGET_MS,
  );
  if (first.status !== 200) return finish(`part 1: ${first.status} ${first.text.slice(0, 200)}`);

  // Part 2 is cut halfway by the fault.
  const abort = new AbortController();
  let halfSent: () => void = () => undefined;
  const sentHalf = new Promise<void>((done) => {
    halfSent = done;
  });
  let release: (then: "rest" | "fail") => void = () => undefined;
  const cut = new Promise<"rest" | "fail">((done) => {
    release = done;
  });
  const part2 = partBytes(data, upload.chunk_size, 2);
  const answer = fetch(user.url(`/api/v1/uploads/${upload.id}/parts/2`), {
    method: "PUT",
    body: cutBody(part2, halfSent, cut),
    duplex: "half",
    headers: {
      authorization: `Bearer ${user.token}`,
      "content-type": "application/octet-stream",
      "content-length": String(part2.length),
      "x-flotilla-sha256": sha256Of(part2),
    },
    signal: abort.signal,
  } as RequestInit).then(
    async (response) => `${response.status} ${(await response.text()).slice(0, 120)}`,
    (error: unknown) => `no answer (${error instanceof Error ? error.message : String(error)})`,
  );
  await sentHalf;
  await pause(150);
  const recover = await inject(campaign, kind, abort);
  release(kind === "client_gone" ? "fail" : "rest");
  outcome.cutAnswer = await Promise.race([answer, pause(30_000).then(() => "no answer within 30 s")]);
  await recover();

  return checkResumed(campaign, outcome, upload.id, data, finish);
}

/** Resumes the upload as a client would, then checks that nothing of it is lost, corrupt, stuck or left. */
async function checkResumed(
  campaign: CampaignStack,
  outcome: FaultOutcome,
  uploadId: string,
  data: Uint8Array<ArrayBuffer>,
  finish: (problem?: string) => FaultOutcome,
): Promise<FaultOutcome> {
  const { user } = campaign;
  const sha256 = sha256Of(data);
  const resumed = await resumeUpload(user, uploadId, data, RESUME_BUDGET_MS);
  outcome.tries = resumed.tries;
  if (!resumed.fileId) {
    outcome.stuck = true;
    outcome.lost = true;
    return finish(resumed.problem);
  }
  if (!(await listed(user, resumed.fileId))) outcome.lost = true;
  const download = await downloadSha(user, resumed.fileId);
  if (download.sha256 !== sha256) outcome.corrupt = true;
  const session = await user.fetch("GET", `/api/v1/uploads/${uploadId}`);
  const state =
    session.status === 200 ? ((await session.json()) as { state: string }).state : `${session.status}`;
  const open = await user.fetch("GET", "/api/v1/uploads");
  const openIds =
    open.status === 200 ? ((await open.json()) as { items: { id: string }[] }).items.map((u) => u.id) : [];
  if (state !== "completed" || openIds.includes(uploadId)) outcome.stuck = true;
  outcome.leftovers = await followerLeftovers([campaign.followerDataDir, campaign.ingressRoot]);
  return finish(download.problem ?? (state !== "completed" ? `session ${state}` : undefined));
}

export interface FaultsResult {
  outcomes: FaultOutcome[];
  seconds: number;
}

export async function runFaults(
  campaign: CampaignStack,
  count: number,
  log: (line: string) => void,
): Promise<FaultsResult> {
  const started = performance.now();
  const outcomes: FaultOutcome[] = [];
  const kinds = faultKinds();
  if (kinds.length < FAULT_KINDS.length) {
    log(
      `  not injected here: ${FAULT_KINDS.filter((kind) => !kinds.includes(kind)).join(", ")} (needs root on Linux)`,
    );
  }
  for (let i = 0; i < count; i++) {
    const kind = kinds[i % kinds.length]!;
    const outcome = await (kind === "s3_down" ? runS3Fault(campaign, i) : runFault(campaign, kind, i)).catch(
      (error): FaultOutcome => ({
        kind,
        cutAnswer: "",
        lost: true,
        corrupt: false,
        stuck: true,
        leftovers: [],
        problem: `the fault run failed: ${error instanceof Error ? error.message : String(error)}`,
        tries: 0,
        seconds: 0,
      }),
    );
    outcomes.push(outcome);
    const bad = outcome.lost || outcome.corrupt || outcome.stuck || outcome.leftovers.length > 0;
    if (bad || (i + 1) % 10 === 0) {
      log(
        `  fault ${i + 1}/${count} ${kind}: cut part answered ${outcome.cutAnswer}; ${bad ? `FAILED ${outcome.problem ?? ""} leftovers ${outcome.leftovers.length}` : "ok"}`,
      );
    }
  }
  return { outcomes, seconds: (performance.now() - started) / 1000 };
}

export function faultLines(result: FaultsResult): string[] {
  const lines = [`Faults: ${result.outcomes.length} injected in ${result.seconds.toFixed(0)} s`];
  for (const kind of FAULT_KINDS) {
    const of = result.outcomes.filter((o) => o.kind === kind);
    if (of.length === 0) continue;
    const count = (test: (o: FaultOutcome) => boolean) => of.filter(test).length;
    const answers = [...new Set(of.map((o) => o.cutAnswer.split(" ")[0]))].join("/");
    lines.push(
      `  ${kind.padEnd(16)} n=${String(of.length).padStart(3)}  lost ${count((o) => o.lost)}  corrupt ${count((o) => o.corrupt)}  stuck ${count((o) => o.stuck)}  leftovers ${count((o) => o.leftovers.length > 0)}  cut part answered ${answers}  mean ${(of.reduce((a, o) => a + o.seconds, 0) / of.length).toFixed(1)} s, ${(of.reduce((a, o) => a + o.tries, 0) / of.length).toFixed(1)} requests to resume`,
    );
  }
  for (const o of result.outcomes.filter((o) => o.problem || o.leftovers.length > 0).slice(0, 10)) {
    lines.push(`  FAIL ${o.kind}: ${o.problem ?? ""} ${o.leftovers.slice(0, 3).join(", ")}`);
  }
  return lines;
}
