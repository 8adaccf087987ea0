// Owns the single-box follower: the agent as a real child process (node agent/cli.ts start), its
// readiness line, and stopping it.
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { resolve } from "node:path";
import { createInterface } from "node:readline";

const root = resolve(import.meta.dirname, "../..");
const listeningLine = /^Follower listening on (http:\/\/\S+)/;

export interface FollowerOptions {
  host: string;
  port: number;
  dataDir: string;
  ingressRoot: string;
  /** Enrollment at first start (FLOTILLA_PRIMARY_URL + FLOTILLA_ENROLLMENT_TOKEN). */
  enroll?: { primaryUrl: string; token: string };
  /** Passed through to the agent's log output. */
  onLog?: (line: string) => void;
  /** More FLOTILLA_* settings for the agent (its environment overrides its config file). */
  env?: Record<string, string>;
  /** A command the agent runs under (the tests' network namespace: ["ip", "netns", "exec", name]). */
  wrap?: string[];
}

export interface Follower {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
  /** Starts the agent again on the same address and data dir (after it stopped or was killed). */
  restart(): Promise<Follower>;
}

/**
 * The agent must know its own base_url to declare browser_presigned_cors (it is the address browsers
 * reach), so "any free port" is resolved here, before the agent starts, rather than by the agent.
 */
export async function freePort(host = "127.0.0.1"): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolveListen, reject) => {
    server.once("error", reject);
    server.listen(0, host, () => resolveListen());
  });
  const address = server.address();
  await new Promise<void>((resolveClose) => server.close(() => resolveClose()));
  if (address === null || typeof address === "string") throw new Error("Could not pick a free port.");
  return address.port;
}

export async function startFollower(options: FollowerOptions): Promise<Follower> {
  const port = options.port === 0 ? await freePort(options.host) : options.port;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    FLOTILLA_AGENT_LISTEN: `${options.host}:${port}`,
    FLOTILLA_AGENT_BASE_URL: `http://${options.host}:${port}`,
    FLOTILLA_AGENT_DATA_DIR: options.dataDir,
    FLOTILLA_MANAGED_INGRESS_LOCAL_ROOT: options.ingressRoot,
    ...options.env,
  };
  delete env.FLOTILLA_AGENT_CONFIG;
  delete env.FLOTILLA_PRIMARY_URL;
  delete env.FLOTILLA_ENROLLMENT_TOKEN;
  if (options.enroll) {
    env.FLOTILLA_PRIMARY_URL = options.enroll.primaryUrl;
    env.FLOTILLA_ENROLLMENT_TOKEN = options.enroll.token;
  }
  const [command, ...args] = [
    ...(options.wrap ?? []),
    process.execPath,
    resolve(root, "agent/cli.ts"),
    "start",
  ];
  const child = spawn(command!, args, {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<void>((resolveExit) => child.once("exit", () => resolveExit()));
  const url = await new Promise<string>((resolveUrl, reject) => {
    const recent: string[] = [];
    const onLine = (line: string) => {
      const match = listeningLine.exec(line);
      if (match?.[1]) resolveUrl(match[1]);
      else {
        recent.push(line);
        if (recent.length > 20) recent.shift();
        options.onLog?.(line);
      }
    };
    createInterface({ input: child.stdout! }).on("line", onLine);
    createInterface({ input: child.stderr! }).on("line", onLine);
    child.once("exit", (code) =>
      reject(new Error(`The follower agent exited (code ${code}) before listening:\n${recent.join("\n")}`)),
    );
  });
  return {
    url,
    child,
    restart: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        throw new Error("The follower agent is still running; stop it first.");
      }
      // Enrolled at its first start: the state in dataDir carries its key from now on.
      const { enroll: _enrolled, ...again } = options;
      return startFollower({ ...again, port });
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
