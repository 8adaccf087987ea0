// Owns a throwaway single-box stack for the acceptance test and the benchmark: startStack with every
// port 0 in a temp data dir (the launcher gives the follower a concrete port and base_url, so it
// declares browser_presigned_cors).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomToken } from "../../shared/crypto.ts";
import { stackPaths } from "../stack/config.ts";
import type { Follower } from "../stack/follower.ts";
import { type Stack, type StackOptions, startStack } from "../stack/stack.ts";

export interface LocalStack {
  url: string;
  adminUsername: string;
  adminPassword: string;
  dataDir: string;
  /** The follower's managed_ingress_local_root. */
  ingressRoot: string;
  /** The follower's data dir (state.json with its enrollment). */
  followerDataDir: string;
  stack: Stack;
  follower: Follower;
  stop(): Promise<void>;
}

export async function startLocalStack(
  log: (line: string) => void = () => undefined,
  options: Pick<StackOptions, "libsqlInFront"> = {},
): Promise<LocalStack> {
  const dataDir = await mkdtemp(join(tmpdir(), "flotilla-walk-"));
  const adminPassword = randomToken("pw", 12);
  const host = "127.0.0.1";
  let stack: Stack | undefined;
  try {
    stack = await startStack(
      {
        dataDir,
        host,
        primaryPort: 0,
        libsqlPort: 0,
        followerPort: 0,
        adminUsername: "admin",
        adminPassword,
      },
      { log, ...options },
    );
    const paths = stackPaths(dataDir);
    const follower = stack.follower;
    const running = stack;
    return {
      url: stack.primaryUrl,
      adminUsername: "admin",
      adminPassword,
      dataDir,
      ingressRoot: paths.followerIngressRoot,
      followerDataDir: paths.follower,
      stack,
      follower,
      async stop() {
        await running.stop();
        await rm(dataDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await stack?.stop();
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
}
