// Owns real follower agent processes for tests: `node agent/cli.ts start --config <temp toml>` with
// the pinned Node (process.execPath), listening on 127.0.0.1:0; resolves with the URL from the one line
// the agent prints. Enrollment through FLOTILLA_PRIMARY_URL + FLOTILLA_ENROLLMENT_TOKEN when given.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { type AddressInfo, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const CLI = fileURLToPath(new URL("../../../agent/cli.ts", import.meta.url));

export interface AgentProcess {
  baseUrl: string;
  dir: string;
  ingressRoot: string;
  /** Output so far, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

export interface AgentOptions {
  primaryUrl?: string;
  token?: string;
  /** Reuse a data directory (restart with the same enrollment and targets). */
  dir?: string;
  /** Listen on this port and advertise http://127.0.0.1:<port> as the agent's own base_url. */
  port?: number;
}

/** A port that was free a moment ago (for an agent that must know its own base_url up front). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function startAgent(options: AgentOptions = {}) {
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), "flotilla-agent-")));
  const ingressRoot = join(dir, "managed-ingress");
  const config = join(dir, "agent.toml");
  await writeFile(
    config,
    [
      "[server]",
      `listen = "127.0.0.1:${options.port ?? 0}"`,
      ...(options.port ? [`base_url = "http://127.0.0.1:${options.port}"`] : []),
      'data_dir = "data"',
      "",
      "[server.follower]",
      'managed_ingress_local_root = "managed-ingress"',
      "",
    ].join("\n"),
  );
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
  if (options.primaryUrl) env.FLOTILLA_PRIMARY_URL = options.primaryUrl;
  if (options.token) env.FLOTILLA_ENROLLMENT_TOKEN = options.token;
  const child: ChildProcess = spawn(process.execPath, [CLI, "start", "--config", config], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    out += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    out += chunk.toString();
  });
  const baseUrl = await new Promise<string>((resolve, reject) => {
    const onData = () => {
      const match = /Follower listening on (http:\/\/\S+)/.exec(out);
      if (match) {
        child.stdout?.off("data", onData);
        resolve(match[1]!);
      }
    };
    child.stdout?.on("data", onData);
    child.once("exit", (code) => reject(new Error(`agent exited with ${code} before listening:\n${out}`)));
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((done) => child.once("exit", () => done()));
      child.kill("SIGTERM");
      await exited;
    }
  };
  return {
    baseUrl,
    dir,
    ingressRoot,
    output: () => out,
    stop,
    /** Stops the agent and removes its directory. */
    async destroy() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  } satisfies AgentProcess & { destroy(): Promise<void> };
}
