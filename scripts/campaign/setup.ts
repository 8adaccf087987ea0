// Owns the campaign's stack: the single-box stack in a temp dir (ports 0, the libSQL server as its own
// process so it can be stopped and read apart), a database client beside the worker, and a user whose
// uploads go through relay_stream to the follower (the faults' and the soak's traffic).
import { execFile } from "node:child_process";
import { cp, mkdir, mkdtemp, rename, rm, statfs } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { type Client, createClient } from "@libsql/client";
import { drizzle } from "drizzle-orm/libsql";
import { randomToken } from "../../shared/crypto.ts";
import type { Db } from "../../worker/db/client.ts";
import * as schema from "../../worker/db/schema.ts";
import { createGroup, createPolicy, createUser, findNode, login } from "../acceptance/admin.ts";
import type { Api } from "../acceptance/api.ts";
import { ensureLocalTarget } from "../acceptance/targets.ts";
import { stackPaths } from "../stack/config.ts";
import type { Follower } from "../stack/follower.ts";
import { type Stack, startStack } from "../stack/stack.ts";

export const MiB = 1024 * 1024;
const run = promisify(execFile);
/** The follower's disk in the campaign, when it is a tmpfs of its own: room for the full run's soak. */
const DISK_BYTES = 4096 * MiB;

/**
 * A disk the campaign can fill: the follower's data directory (its state, staging and the ingress
 * root under it) moved onto a tmpfs of its own, whose size the disk_full fault lowers to what is used
 * (mount -o remount keeps the contents). Needs root on Linux; elsewhere there is none and the fault
 * is left out, which the run says.
 */
export interface FollowerDisk {
  dir: string;
  /** Lowers the disk's size to what is written on it plus `spare` bytes. */
  fill(spare: number): Promise<void>;
  /** Gives the disk its room back. */
  free(): Promise<void>;
  unmount(): Promise<void>;
}

export function diskFaultsAvailable(): boolean {
  return process.platform === "linux" && process.getuid?.() === 0;
}

async function followerDisk(dir: string): Promise<FollowerDisk> {
  const aside = `${dir}.before-tmpfs`;
  await rename(dir, aside);
  await mkdir(dir);
  await run("mount", ["-t", "tmpfs", "-o", `size=${DISK_BYTES},mode=0700`, "tmpfs", dir]);
  await cp(aside, dir, { recursive: true, preserveTimestamps: true });
  await rm(aside, { recursive: true, force: true });
  const resize = (bytes: number) => run("mount", ["-o", `remount,size=${bytes}`, dir]);
  return {
    dir,
    async fill(spare) {
      const disk = await statfs(dir);
      const used = (disk.blocks - disk.bfree) * disk.bsize;
      await resize(Math.ceil((used + spare) / disk.bsize) * disk.bsize);
    },
    free: async () => {
      await resize(DISK_BYTES);
    },
    async unmount() {
      await run("umount", ["-l", dir]).catch(() => undefined);
    },
  };
}

export interface CampaignStack {
  stack: Stack;
  origin: string;
  dataDir: string;
  followerDataDir: string;
  ingressRoot: string;
  /** The follower as it runs now (a restart replaces it). */
  follower: Follower;
  client: Client;
  db: Db;
  admin: Api;
  /** A user bound to a relay_stream policy on the follower, parts of `partSize`. */
  user: Api;
  partSize: number;
  nodeId: string;
  policyId: string;
  /** The follower's own disk, for the disk_full fault; null where none can be made. */
  disk: FollowerDisk | null;
  stop(): Promise<void>;
}

export async function startCampaignStack(log: (line: string) => void): Promise<CampaignStack> {
  const dataDir = await mkdtemp(join(tmpdir(), "flotilla-campaign-"));
  const adminPassword = randomToken("pw", 12);
  const stack = await startStack(
    {
      dataDir,
      host: "127.0.0.1",
      primaryPort: 0,
      libsqlPort: 0,
      followerPort: 0,
      adminUsername: "admin",
      adminPassword,
    },
    { log: () => undefined, libsqlProcess: true, scheduledIntervalMs: 3_600_000 },
  ).catch(async (error) => {
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  });
  const paths = stackPaths(dataDir);
  const client = createClient({ url: stack.libsqlUrl, authToken: stack.libsqlAuthToken });
  const db = drizzle(client, { schema }) as unknown as Db;
  const runId = `campaign-${randomToken("", 4).slice(1)}`;
  const partSize = 1 * MiB;
  const campaign: CampaignStack = {
    stack,
    origin: stack.primaryUrl,
    dataDir,
    followerDataDir: paths.follower,
    ingressRoot: paths.followerIngressRoot,
    follower: stack.follower,
    client,
    db,
    admin: undefined as unknown as Api,
    user: undefined as unknown as Api,
    partSize,
    nodeId: "",
    policyId: "",
    disk: null,
    async stop() {
      client.close();
      await campaign.follower.stop().catch(() => undefined);
      await stack.stop();
      await campaign.disk?.unmount();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  try {
    if (diskFaultsAvailable()) {
      await stack.follower.stop();
      campaign.disk = await followerDisk(paths.follower);
      campaign.follower = await stack.follower.restart();
    }
    const admin = await login(stack.primaryUrl, "admin", adminPassword, runId);
    const node = await findNode(admin, undefined);
    await ensureLocalTarget(admin, node);
    const policy = await createPolicy(admin, node, { runId, chunkSize: partSize }, "relay_stream", "relay");
    const group = await createGroup(admin, policy, `${runId} relay`);
    const password = randomToken("pw", 12);
    const user = await createUser(admin, group, `${runId}-user`, password);
    campaign.admin = admin;
    campaign.user = await login(stack.primaryUrl, user.username, password, runId);
    campaign.nodeId = node.id;
    campaign.policyId = policy.id;
    log(`Stack: primary ${stack.primaryUrl}, follower ${stack.followerUrl}, libSQL ${stack.libsqlUrl}`);
    return campaign;
  } catch (error) {
    await campaign.stop();
    throw error;
  }
}
