// Owns real follower agent processes for tests: `node agent/cli.ts start --config <temp toml>` with
// the pinned Node (process.execPath), listening on 127.0.0.1:0; resolves with the URL from the one line
// the agent prints. Enrollment through FLOTILLA_PRIMARY_URL + FLOTILLA_ENROLLMENT_TOKEN when given.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
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

export async function startAgent(options: { primaryUrl?: string; token?: string; dir?: string } = {}) {
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), "flotilla-agent-")));
  const ingressRoot = join(dir, "managed-ingress");
  const config = join(dir, "agent.toml");
  await writeFile(
    config,
    `[server]\nlisten = "127.0.0.1:0"\ndata_dir = "data"\n\n[server.follower]\nmanaged_ingress_local_root = "managed-ingress"\n`,
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
