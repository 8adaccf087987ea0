// Starts a local libSQL server on a fresh database file in a temp dir, for one test file.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type LibsqlServer,
  type LibsqlServerTuning,
  startLibsqlServer,
} from "../../scripts/libsql-server/index.ts";

export interface TestServer {
  server: LibsqlServer;
  dir: string;
  path: string;
  token: string;
  stop(): Promise<void>;
}

export async function startTestServer(tuning: Partial<LibsqlServerTuning> = {}): Promise<TestServer> {
  const dir = await mkdtemp(join(tmpdir(), "flotilla-libsql-"));
  const path = join(dir, "test.db");
  const token = `tok_${crypto.randomUUID()}`;
  const server = await startLibsqlServer({ path, port: 0, authToken: token }, tuning);
  return {
    server,
    dir,
    path,
    token,
    async stop() {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A fresh table name per test, so tests share one database without wiping it. */
export function tableName(prefix: string): string {
  return `${prefix}_${crypto.randomUUID().replaceAll("-", "")}`;
}
