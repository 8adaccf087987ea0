// Owns starting and stopping the local libSQL server: an embedded libSQL database file served over
// Hrana-over-HTTP v2, what the primary talks to in local runs and tests (production uses Turso/sqld).
import { mkdirSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { dirname } from "node:path";
import Database from "libsql";
import { createListener } from "./http.ts";
import { StreamRegistry } from "./streams.ts";

export interface LibsqlServerOptions {
  path: string;
  host?: string;
  port?: number;
  authToken?: string;
}

export interface LibsqlServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Limits with production-minded defaults; tests shorten them. */
export interface LibsqlServerTuning {
  idleMs: number;
  maxStreams: number;
  busyWaitMs: number;
  maxBodyBytes: number;
}

const defaults: LibsqlServerTuning = {
  idleMs: 15_000,
  maxStreams: 256,
  busyWaitMs: 5_000,
  maxBodyBytes: 16 * 1024 * 1024,
};

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EADDRINUSE") {
        reject(new Error(`Port ${port} on ${host} is already taken (EADDRINUSE); choose another port.`));
      } else reject(error);
    });
    server.listen(port, host, () => {
      const address = server.address();
      resolve(typeof address === "object" && address !== null ? address.port : port);
    });
  });
}

export async function startLibsqlServer(
  options: LibsqlServerOptions,
  tuning: Partial<LibsqlServerTuning> = {},
): Promise<LibsqlServer> {
  if (options.authToken === "") throw new Error("The libSQL server's authToken must not be empty.");
  // Every stream opens its own connection, so an in-memory database would be a different one each time.
  if (options.path === "" || options.path.includes(":memory:") || options.path.startsWith("file:")) {
    throw new Error(`The libSQL server needs a database file path, got "${options.path}".`);
  }
  const host = options.host ?? "127.0.0.1";
  const limits = { ...defaults, ...tuning };
  mkdirSync(dirname(options.path), { recursive: true });
  // This connection sets WAL (a property of the file) and stays open so the WAL persists until close.
  const main = new Database(options.path);
  const [mode] = main.prepare("PRAGMA journal_mode = WAL").raw(true).get() as [string];
  if (mode !== "wal") {
    main.close();
    throw new Error(`The database ${options.path} cannot use WAL mode (it stays in ${mode} mode).`);
  }
  const registry = new StreamRegistry(options.path, limits);
  const server = createServer(
    createListener(registry, { authToken: options.authToken, maxBodyBytes: limits.maxBodyBytes }),
  );
  let port: number;
  try {
    port = await listen(server, options.port ?? 0, host);
  } catch (error) {
    main.close();
    throw error;
  }
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
      registry.closeAll();
      main.close();
    });
    return closing;
  };
  // A wildcard address is where the server listens, not where a client should connect.
  const connectHost = host === "0.0.0.0" ? "127.0.0.1" : host === "::" ? "::1" : host;
  const urlHost = connectHost.includes(":") ? `[${connectHost}]` : connectHost;
  return { url: `http://${urlHost}:${port}`, port, close };
}
