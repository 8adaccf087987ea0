// Owns running the interoperability suite's outside clients: finding the Debian packages' binaries
// (a missing one fails with the install line), running them to the end with their output kept, and
// an rclone remote for a user's app password passed through environment variables (no config file).
import { spawn, spawnSync } from "node:child_process";

export const INSTALL_LINE = "apt-get install -y litmus rclone";

/** The path of `name`, or an error that says how to install it. */
export function requireTool(name: "litmus" | "rclone"): string {
  const found = spawnSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" });
  const path = found.stdout.trim();
  if (found.status !== 0 || path === "") {
    throw new Error(`${name} is not installed; the interoperability suite needs it: ${INSTALL_LINE}`);
  }
  return path;
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function run(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
) {
  return new Promise<Run>((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.once("error", reject);
    child.once("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

/** Environment that defines the rclone remote `flot:` for a user's app password. */
export async function rcloneRemote(
  davUrl: string,
  username: string,
  appPassword: string,
): Promise<NodeJS.ProcessEnv> {
  const obscured = await run(requireTool("rclone"), ["obscure", appPassword]);
  if (obscured.code !== 0) throw new Error(`rclone obscure failed: ${obscured.stderr}`);
  return {
    RCLONE_CONFIG: "/dev/null",
    RCLONE_CONFIG_FLOT_TYPE: "webdav",
    RCLONE_CONFIG_FLOT_URL: davUrl,
    RCLONE_CONFIG_FLOT_VENDOR: "other",
    RCLONE_CONFIG_FLOT_USER: username,
    RCLONE_CONFIG_FLOT_PASS: obscured.stdout.trim(),
  };
}

/** Runs rclone against `flot:` without retries, so a failure shows as one instead of being retried away. */
export async function rclone(env: NodeJS.ProcessEnv, args: string[]): Promise<Run> {
  return run(requireTool("rclone"), [...args, "--retries", "1", "--low-level-retries", "1"], { env });
}
