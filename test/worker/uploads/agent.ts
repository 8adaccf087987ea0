// Owns a real follower agent process for the upload tests: started with its own base_url (so it
// declares browser_presigned_cors), first on port 0, and restartable on the SAME data dir and port
// after being killed, as an operator restarting a crashed follower would.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const CLI = fileURLToPath(new URL("../../../agent/cli.ts", import.meta.url));

export interface UploadAgent {
  baseUrl: string;
  dir: string;
  ingressRoot: string;
  dataDir: string;
  /** SIGKILL: no shutdown work at all, like a crash or power loss. */
  kill(): Promise<void>;
  /** Starts again on the same dir and port (enrollment and targets come from its data dir). */
  restart(): Promise<void>;
  output(): string;
  destroy(): Promise<void>;
}

export async function startUploadAgent(enroll: { primaryUrl: string; token: string }): Promise<UploadAgent> {
  const dir = await mkdtemp(join(tmpdir(), "flotilla-upload-agent-"));
  let out = "";
  let child: ChildProcess | null = null;
  let port = 0;

  const launch = async (withEnrollment: boolean) => {
    const config = join(dir, "agent.toml");
    // The primary reaches the agent through the node's base_url; the agent's own base_url only has
    // to exist (it enables browser URLs; hosts are not part of signatures).
    await writeFile(
      config,
      `[server]\nlisten = "127.0.0.1:${port}"\nbase_url = "http://127.0.0.1:${port || 1}"\ndata_dir = "data"\n\n[server.follower]\nmanaged_ingress_local_root = "managed-ingress"\n`,
    );
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
    if (withEnrollment) {
      env.FLOTILLA_PRIMARY_URL = enroll.primaryUrl;
      env.FLOTILLA_ENROLLMENT_TOKEN = enroll.token;
    }
    const proc = spawn(process.execPath, [CLI, "start", "--config", config], {
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    child = proc;
    proc.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    proc.stderr?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    const from = out.length;
    const url = await new Promise<string>((resolve, reject) => {
      const onData = () => {
        const match = /Follower listening on (http:\/\/\S+)/.exec(out.slice(from));
        if (match) {
          proc.stdout?.off("data", onData);
          resolve(match[1]!);
        }
      };
      proc.stdout?.on("data", onData);
      proc.once("exit", (code) => reject(new Error(`agent exited with ${code} before listening:\n${out}`)));
    });
    port = Number(new URL(url).port);
    return url.replace(/\/+$/, "");
  };

  const stop = async (signal: NodeJS.Signals) => {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((done) => proc.once("exit", () => done()));
    proc.kill(signal);
    await exited;
  };

  const baseUrl = await launch(true);
  return {
    baseUrl,
    dir,
    ingressRoot: join(dir, "managed-ingress"),
    dataDir: join(dir, "data"),
    kill: () => stop("SIGKILL"),
    async restart() {
      await launch(false);
    },
    output: () => out,
    async destroy() {
      await stop("SIGTERM");
      await rm(dir, { recursive: true, force: true });
    },
  };
}
