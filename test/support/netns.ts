// Owns a storage machine behind NAT for the tests: a Linux network namespace of its own joined to
// this machine by a veth pair (10.231.N.1 on this side, 10.231.N.2 inside, a default route out
// through this side), where an agent listens only on the namespace's own loopback. Nothing outside
// can open a connection to it; it can open connections out, as a follower behind a home router does.
// The tests see the agent's /health/ready through a Unix socket forwarded inside the namespace (a
// socket file is reachable from every network namespace). down() takes the wire away at both ends
// without a word (no FIN, no RST reaches either side: what a router losing power does); up() puts
// it back. Needs root and iproute2; namespacesAvailable() says whether this machine has them.
import { execFile, spawn } from "node:child_process";
import { request } from "node:http";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const PREFIX = "flt";

export interface AgentNamespace {
  name: string;
  /** This side of the wire: where a service the agent must reach listens. */
  hostAddress: string;
  /** The agent's side: the address a primary would have to dial (and cannot). */
  agentAddress: string;
  /** Put before a command to run it inside the namespace. */
  wrap: string[];
  /** Starts forwarding `socketPath` to 127.0.0.1:port inside the namespace. */
  bridge(port: number, socketPath: string): Promise<void>;
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

async function ip(...args: string[]): Promise<string> {
  return (await run("ip", args)).stdout;
}

export async function namespacesAvailable(): Promise<boolean> {
  if (process.platform !== "linux" || process.getuid?.() !== 0) return false;
  try {
    await ip("netns", "list");
    return true;
  } catch {
    return false;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Namespaces left by test processes that died before cleaning up (their pid is in the name). */
async function sweep(): Promise<void> {
  for (const line of (await ip("netns", "list")).split("\n")) {
    const name = line.split(" ")[0] ?? "";
    const match = new RegExp(`^${PREFIX}-(\\d+)-\\d+$`).exec(name);
    if (match && !alive(Number(match[1]))) await remove(name);
  }
}

async function remove(name: string): Promise<void> {
  const pids = await ip("netns", "pids", name).catch(() => "");
  for (const pid of pids.split("\n").filter(Boolean)) {
    try {
      process.kill(Number(pid), "SIGKILL");
    } catch {
      // Gone already.
    }
  }
  // Deleting the namespace destroys the veth pair with it.
  await ip("netns", "del", name).catch(() => {});
}

export async function agentNamespace(): Promise<AgentNamespace> {
  await sweep();
  // The subnet is claimed by creating its veth pair: a name in use means another test process has it.
  let n = 0;
  for (let candidate = 1; candidate < 250 && n === 0; candidate++) {
    try {
      await ip(
        "link",
        "add",
        `${PREFIX}${candidate}a`,
        "type",
        "veth",
        "peer",
        "name",
        `${PREFIX}${candidate}b`,
      );
      n = candidate;
    } catch {
      // Taken.
    }
  }
  if (n === 0) throw new Error("no free 10.231.N.0/30 subnet for a test namespace");
  const name = `${PREFIX}-${process.pid}-${n}`;
  const outside = `${PREFIX}${n}a`;
  const inside = `${PREFIX}${n}b`;
  const hostAddress = `10.231.${n}.1`;
  const agentAddress = `10.231.${n}.2`;
  try {
    await ip("netns", "add", name);
    await ip("link", "set", inside, "netns", name);
    await ip("addr", "add", `${hostAddress}/30`, "dev", outside);
    await ip("-n", name, "addr", "add", `${agentAddress}/30`, "dev", inside);
    await ip("-n", name, "link", "set", "lo", "up");
  } catch (error) {
    await ip("link", "del", outside).catch(() => {});
    await remove(name);
    throw error;
  }
  const up = async () => {
    await ip("link", "set", outside, "up");
    await ip("-n", name, "link", "set", inside, "up");
    // A link taken down loses its routes: the way out is put back with it.
    await ip("-n", name, "route", "replace", "default", "via", hostAddress);
  };
  await up();
  const bridges: ReturnType<typeof spawn>[] = [];
  return {
    name,
    hostAddress,
    agentAddress,
    wrap: ["ip", "netns", "exec", name],
    async bridge(port, socketPath) {
      const script = `const net=require("node:net");net.createServer((c)=>{const u=net.connect(${port},"127.0.0.1");c.pipe(u).pipe(c);c.on("error",()=>u.destroy());u.on("error",()=>c.destroy())}).listen(${JSON.stringify(socketPath)},()=>console.log("ready"))`;
      const child = spawn("ip", ["netns", "exec", name, process.execPath, "-e", script], {
        stdio: ["ignore", "pipe", "inherit"],
      });
      bridges.push(child);
      await new Promise<void>((resolve, reject) => {
        child.once("exit", (code) => reject(new Error(`the namespace's bridge exited (${code})`)));
        child.stdout.once("data", () => resolve());
      });
    },
    async down() {
      await ip("link", "set", outside, "down");
      await ip("-n", name, "link", "set", inside, "down");
    },
    up,
    async close() {
      for (const child of bridges) child.kill("SIGKILL");
      await remove(name);
    },
  };
}

/** A GET through a bridged Unix socket: its status and JSON body. */
export function getOverSocket(socketPath: string, path: string): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, timeout: 10_000 }, (response) => {
      let text = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => {
        text += chunk;
      });
      response.on("end", () => {
        try {
          resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) });
        } catch (error) {
          reject(error);
        }
      });
    });
    req.on("timeout", () => req.destroy(new Error(`GET ${path} over ${socketPath} timed out`)));
    req.on("error", reject);
    req.end();
  });
}

export function bridgePath(dir: string): string {
  return join(dir, "agent.sock");
}
