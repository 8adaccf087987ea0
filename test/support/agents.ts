// Owns real follower agent processes for tests: `node agent/cli.ts start` with the pinned Node
// (process.execPath), listening on 127.0.0.1 (port 0 unless given), resolved with the URL from the line
// the agent prints. Configured by a temp agent.toml (or by environment alone, as a container would be),
// enrolled through FLOTILLA_PRIMARY_URL + FLOTILLA_ENROLLMENT_TOKEN when given, and restartable on the
// same data dir and port after a stop or a kill, as an operator restarting a crashed follower would.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "../..");
const CLI = join(ROOT, "agent/cli.ts");

export interface AgentProcessOptions {
  /** Enrollment at the first start (ignored by an agent already enrolled). */
  primaryUrl?: string;
  token?: string;
  /**
   * The agent's directory (config, data, ingress root), reused for a restart with the same enrollment
   * and targets; a temp dir is made when omitted, except with `env`, whose variables name the paths.
   */
  dir?: string;
  /** Listen on this port (else 0, and a restart reuses the port the first start got). */
  port?: number;
  /**
   * Write the agent's own base_url (http://127.0.0.1:<port>) into its config, which enables browser
   * URLs (`browser_presigned_cors`). On by default when `port` is given; with port 0 the first start
   * advertises port 1 (it only has to exist: hosts are not part of signatures).
   */
  advertise?: boolean;
  /** More `[server]` lines for the config file (e.g. `max_object_bytes = 1000`). */
  serverLines?: string[];
  /**
   * Configure by these FLOTILLA_* variables alone: no config file is written, and `port`,
   * `advertise` and `serverLines` do not apply.
   */
  env?: NodeJS.ProcessEnv;
}

export interface AgentProcess {
  baseUrl: string;
  dir: string;
  ingressRoot: string;
  dataDir: string;
  /** The running child (the last one started). */
  child(): ChildProcess;
  /** Standard output and error so far, for failure messages. */
  output(): string;
  /** Standard output alone, so far. */
  stdout(): string;
  /** SIGTERM and wait for the exit (the agent's own shutdown runs). */
  stop(): Promise<void>;
  /** SIGKILL: no shutdown work at all, like a crash or power loss. */
  kill(): Promise<void>;
  /** Starts again on the same dir and port, without enrollment (it comes from the data dir). */
  restart(): Promise<void>;
  /** Stops the agent and removes its directory (if it has one). */
  destroy(): Promise<void>;
}

/** A port that was free a moment ago (for an agent that must know its own base_url up front). */
export { freePort } from "../../scripts/stack/follower.ts";

export async function startAgentProcess(options: AgentProcessOptions = {}): Promise<AgentProcess> {
  const dir = options.dir ?? (options.env ? undefined : await mkdtemp(join(tmpdir(), "flotilla-agent-")));
  const advertise = options.advertise ?? options.port !== undefined;
  let port = options.port ?? 0;
  let out = "";
  let stdout = "";
  let child: ChildProcess | null = null;
  let baseUrl = "";

  const launch = async (withEnrollment: boolean) => {
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, ...options.env };
    const args = [CLI, "start"];
    if (dir !== undefined && !options.env) {
      const config = join(dir, "agent.toml");
      await writeFile(
        config,
        [
          "[server]",
          `listen = "127.0.0.1:${port}"`,
          ...(advertise ? [`base_url = "http://127.0.0.1:${port || 1}"`] : []),
          'data_dir = "data"',
          ...(options.serverLines ?? []),
          "",
          "[server.follower]",
          'managed_ingress_local_root = "managed-ingress"',
          "",
        ].join("\n"),
      );
      args.push("--config", config);
    }
    if (withEnrollment && options.primaryUrl) env.FLOTILLA_PRIMARY_URL = options.primaryUrl;
    if (withEnrollment && options.token) env.FLOTILLA_ENROLLMENT_TOKEN = options.token;
    const proc = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    child = proc;
    const from = stdout.length;
    proc.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      stdout += chunk.toString();
    });
    proc.stderr?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    const url = await new Promise<string>((done, fail) => {
      const onData = () => {
        const match = /Follower listening on (http:\/\/\S+)/.exec(stdout.slice(from));
        if (match) {
          proc.stdout?.off("data", onData);
          done(match[1]!);
        }
      };
      proc.stdout?.on("data", onData);
      proc.once("exit", (code) => fail(new Error(`agent exited with ${code} before listening:\n${out}`)));
    });
    port = Number(new URL(url).port);
    return url;
  };

  const end = async (signal: NodeJS.Signals) => {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((done) => proc.once("exit", () => done()));
    proc.kill(signal);
    await exited;
  };

  baseUrl = await launch(true);
  const home = dir ?? "";
  const ingressRoot = options.env?.FLOTILLA_MANAGED_INGRESS_LOCAL_ROOT ?? join(home, "managed-ingress");
  const dataDir = options.env?.FLOTILLA_AGENT_DATA_DIR ?? join(home, "data");
  return {
    baseUrl,
    dir: home,
    ingressRoot,
    dataDir,
    child: () => child!,
    output: () => out,
    stdout: () => stdout,
    stop: () => end("SIGTERM"),
    kill: () => end("SIGKILL"),
    async restart() {
      await launch(false);
    },
    async destroy() {
      await end("SIGTERM");
      if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    },
  };
}
