// Owns the agent's configuration: a TOML file (tutorial vocabulary: [server] listen, base_url, data_dir,
// [server.follower] managed_ingress_local_root) overridden by FLOTILLA_* environment variables.
// Relative paths in the file resolve against the file's directory; in env, against the working dir.
import { access, readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { parse } from "smol-toml";
import { z } from "zod";
import { AppError, zodDetails } from "../shared/errors.ts";
import { DEFAULT_CHANNEL_PING_SECONDS } from "../shared/protocol/channel.ts";

export interface AgentConfig {
  listen: { host: string; port: number };
  /** How the primary (and browsers, for presigned) reach this agent; its path prefix is stripped. */
  baseUrl: string | null;
  dataDir: string;
  /** The key that seals the secrets in state.json, kept apart from it (see stateKeyPath). */
  stateKeyFile: string;
  managedIngressLocalRoot: string;
  /** 0 = unlimited. */
  maxObjectBytes: number;
  /** Bearer token for /metrics; without one, /metrics answers 404. */
  metricsToken: string | null;
  enrollment: { primaryUrl: string; token: string } | null;
  /** Seconds between keepalive pings on the channel to the primary (outbound nodes only). */
  channelPingSeconds: number;
}

const fileSchema = z.object({
  server: z
    .object({
      listen: z.string().optional(),
      base_url: z.string().optional(),
      data_dir: z.string().optional(),
      state_key_file: z.string().optional(),
      max_object_bytes: z.number().int().nonnegative().optional(),
      follower: z.object({ managed_ingress_local_root: z.string().optional() }).strict().optional(),
    })
    .strict()
    .optional(),
  metrics: z
    .object({ token: z.string().min(16).optional() })
    .strict()
    .optional(),
  channel: z
    .object({ ping_seconds: z.number().int().min(1).max(300).optional() })
    .strict()
    .optional(),
});

export function parseListen(text: string): { host: string; port: number } {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]+)):(\d{1,5})$/.exec(text.trim());
  const port = Number(match?.[3]);
  if (!match || port > 65_535) {
    throw new AppError("validation_failed", `listen must be HOST:PORT, got "${text}".`);
  }
  return { host: match[1] ?? match[2] ?? "127.0.0.1", port };
}

function normalizeBaseUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new AppError("validation_failed", `base_url is not a URL: "${text}".`);
  }
  if ((url.protocol !== "http:" && url.protocol !== "https:") || url.search || url.hash || url.username) {
    throw new AppError(
      "validation_failed",
      "base_url must be an http(s) URL without query, fragment or user.",
    );
  }
  return url.toString().replace(/\/+$/, "");
}

/** The name of the state key among systemd credentials (LoadCredential=flotilla-state-key:...). */
export const STATE_KEY_CREDENTIAL = "flotilla-state-key";

/**
 * Where the state key is: FLOTILLA_AGENT_STATE_KEY_FILE, else server.state_key_file, else a systemd
 * credential of that name when the service passes one, else <data_dir>/state.key.
 */
async function stateKeyPath(
  env: Record<string, string | undefined>,
  fromFile: string | undefined,
  dataDir: string,
): Promise<string> {
  if (env.FLOTILLA_AGENT_STATE_KEY_FILE) return resolve(env.FLOTILLA_AGENT_STATE_KEY_FILE);
  if (fromFile) return fromFile;
  if (env.CREDENTIALS_DIRECTORY) {
    const credential = join(env.CREDENTIALS_DIRECTORY, STATE_KEY_CREDENTIAL);
    if (
      await access(credential).then(
        () => true,
        () => false,
      )
    )
      return credential;
  }
  return join(dataDir, "state.key");
}

export async function loadConfig(
  configPath: string | undefined,
  env: Record<string, string | undefined>,
): Promise<AgentConfig> {
  const path = configPath ?? env.FLOTILLA_AGENT_CONFIG;
  let file: z.infer<typeof fileSchema> = {};
  let baseDir = process.cwd();
  if (path) {
    const text = await readFile(path, "utf8").catch((cause: unknown) => {
      throw new AppError("validation_failed", `Cannot read config file ${path}.`, { cause });
    });
    const parsed = fileSchema.safeParse(parse(text));
    if (!parsed.success) {
      throw new AppError("validation_failed", `Config file ${path} is not valid.`, {
        details: zodDetails(parsed.error),
      });
    }
    file = parsed.data;
    baseDir = dirname(resolve(path));
  }
  const fromFile = (p: string | undefined) => (p === undefined ? undefined : resolve(baseDir, p));
  const dataDir = env.FLOTILLA_AGENT_DATA_DIR
    ? resolve(env.FLOTILLA_AGENT_DATA_DIR)
    : (fromFile(file.server?.data_dir) ?? resolve(baseDir, "data"));
  const root = env.FLOTILLA_MANAGED_INGRESS_LOCAL_ROOT
    ? resolve(env.FLOTILLA_MANAGED_INGRESS_LOCAL_ROOT)
    : (fromFile(file.server?.follower?.managed_ingress_local_root) ?? resolve(dataDir, "managed-ingress"));
  const baseUrl = env.FLOTILLA_AGENT_BASE_URL ?? file.server?.base_url;
  const primaryUrl = env.FLOTILLA_PRIMARY_URL;
  const token = env.FLOTILLA_ENROLLMENT_TOKEN;
  if (Boolean(primaryUrl) !== Boolean(token)) {
    throw new AppError(
      "validation_failed",
      "FLOTILLA_PRIMARY_URL and FLOTILLA_ENROLLMENT_TOKEN must be set together (or neither).",
    );
  }
  const metricsToken = env.FLOTILLA_METRICS_TOKEN ?? file.metrics?.token ?? null;
  if (metricsToken !== null && metricsToken.length < 16) {
    throw new AppError("validation_failed", "The metrics token must be at least 16 characters.");
  }
  const maxObjectBytes = Number(env.FLOTILLA_MAX_OBJECT_BYTES ?? file.server?.max_object_bytes ?? 0);
  if (!Number.isSafeInteger(maxObjectBytes) || maxObjectBytes < 0) {
    throw new AppError("validation_failed", "max_object_bytes must be a non-negative integer.");
  }
  const channelPingSeconds = Number(
    env.FLOTILLA_CHANNEL_PING_SECONDS ?? file.channel?.ping_seconds ?? DEFAULT_CHANNEL_PING_SECONDS,
  );
  if (!Number.isInteger(channelPingSeconds) || channelPingSeconds < 1 || channelPingSeconds > 300) {
    throw new AppError("validation_failed", "channel ping_seconds must be a whole number from 1 to 300.");
  }
  return {
    listen: parseListen(env.FLOTILLA_AGENT_LISTEN ?? file.server?.listen ?? "127.0.0.1:7070"),
    baseUrl: baseUrl ? normalizeBaseUrl(baseUrl) : null,
    dataDir,
    stateKeyFile: await stateKeyPath(env, fromFile(file.server?.state_key_file), dataDir),
    managedIngressLocalRoot: root,
    maxObjectBytes,
    metricsToken,
    enrollment: primaryUrl && token ? { primaryUrl, token } : null,
    channelPingSeconds,
  };
}
