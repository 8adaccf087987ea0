// Owns the local libSQL server as a process of its own (scripts/libsql-server/cli.ts), for runs that
// stop it and start it again in place (same port, same database file, same token) or read its memory
// apart from the stack's: the reliability campaign. npm start keeps it in process (stack.ts).
import { type ChildProcess, spawn } from "node:child_process";
import { resolve } from "node:path";
import { createInterface } from "node:readline";
import type { LibsqlServerOptions } from "../libsql-server/index.ts";

const cli = resolve(import.meta.dirname, "../libsql-server/cli.ts");
const listeningLine = /^libSQL: (http:\/\/\S+)/;

export interface LibsqlProcess {
  url: string;
  port: number;
  /** The running server's process id; undefined while it is stopped. */
  pid(): number | undefined;
  /** Ends the process (SIGKILL: no chance to answer what is in flight) and waits for its exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port and file. */
  start(): Promise<void>;
  close(): Promise<void>;
}

function spawnServer(
  options: Required<Pick<LibsqlServerOptions, "path" | "host">> & { port: number; authToken: string },
): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    [cli, "--db", options.path, "--host", options.host, "--port", String(options.port)],
    { env: { ...process.env, LIBSQL_SERVER_TOKEN: options.authToken }, stdio: ["ignore", "pipe", "pipe"] },
  );
  return new Promise((resolveStart, reject) => {
    const recent: string[] = [];
    const onLine = (line: string) => {
      const match = listeningLine.exec(line);
      if (match?.[1]) resolveStart({ child, url: match[1] });
      else if (recent.push(line) > 20) recent.shift();
    };
    createInterface({ input: child.stdout! }).on("line", onLine);
    createInterface({ input: child.stderr! }).on("line", onLine);
    child.once("exit", (code) =>
      reject(new Error(`The libSQL server exited (code ${code}) before listening:\n${recent.join("\n")}`)),
    );
  });
}

export async function startLibsqlProcess(
  options: Required<Pick<LibsqlServerOptions, "path" | "host">> & { port: number; authToken: string },
): Promise<LibsqlProcess> {
  let { child, url } = await spawnServer(options);
  const port = Number(new URL(url).port);
  let running = true;
  const stop = async (signal: NodeJS.Signals = "SIGKILL") => {
    if (!running) return;
    running = false;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((done) => child.once("exit", () => done()));
    child.kill(signal);
    await exited;
  };
  return {
    url,
    port,
    pid: () => (running ? child.pid : undefined),
    stop,
    async start() {
      if (running) return;
      ({ child, url } = await spawnServer({ ...options, port }));
      running = true;
    },
    close: () => stop("SIGTERM"),
  };
}
