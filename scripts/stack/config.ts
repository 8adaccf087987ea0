// Owns the single-box stack's configuration: embedded defaults, the environment variables that
// override them, and the data directory layout under FLOTILLA_DATA_DIR.
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { randomToken } from "../../shared/crypto.ts";

export interface StackConfig {
  dataDir: string;
  host: string;
  primaryPort: number;
  libsqlPort: number;
  followerPort: number;
  adminUsername: string;
  /** From FLOTILLA_ADMIN_PASSWORD; when absent a password is generated at first start. */
  adminPassword: string | undefined;
  /** From FLOTILLA_TRUSTED_PROXY_HEADER: the header a reverse proxy in front sets to the client address. */
  trustedProxyHeader?: string | undefined;
}

function port(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 65535) {
    throw new Error(`${name} must be a port number between 0 and 65535, got "${raw}".`);
  }
  return value;
}

export function readStackConfig(): StackConfig {
  return {
    dataDir: resolve(process.env.FLOTILLA_DATA_DIR || "data"),
    host: process.env.FLOTILLA_HOST || "127.0.0.1",
    primaryPort: port("FLOTILLA_PORT", 8787),
    libsqlPort: port("FLOTILLA_LIBSQL_PORT", 8788),
    followerPort: port("FLOTILLA_FOLLOWER_PORT", 7070),
    adminUsername: process.env.FLOTILLA_ADMIN_USERNAME || "admin",
    adminPassword: process.env.FLOTILLA_ADMIN_PASSWORD || undefined,
    trustedProxyHeader: process.env.FLOTILLA_TRUSTED_PROXY_HEADER || undefined,
  };
}

export const stackPaths = (dataDir: string) => ({
  database: join(dataDir, "primary.db"),
  primaryState: join(dataDir, "primary"),
  build: join(dataDir, "run"),
  secret: join(dataDir, "secret.key"),
  follower: join(dataDir, "follower-1"),
  followerIngressRoot: join(dataDir, "follower-1", "managed-ingress"),
});

/**
 * The primary's FLOTILLA_SECRET (encryption key for secrets at rest). Taken from the environment, or
 * generated once and kept in the data dir (mode 0600) so a second start can still decrypt.
 */
export async function loadOrCreateSecret(path: string): Promise<string> {
  if (process.env.FLOTILLA_SECRET) return process.env.FLOTILLA_SECRET;
  try {
    return (await readFile(path, "utf8")).trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  const secret = randomToken("fls", 32);
  await mkdir(join(path, ".."), { recursive: true });
  await writeFile(path, `${secret}\n`, { mode: 0o600, flag: "wx" });
  await chmod(path, 0o600);
  return secret;
}
