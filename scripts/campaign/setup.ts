// Owns the campaign's stack: the single-box stack in a temp dir (ports 0, the libSQL server as its own
// process so it can be stopped and read apart), a database client beside the worker, and a user whose
// uploads go through relay_stream to the follower (the faults' and the soak's traffic).
import { execFile } from "node:child_process";
import { cp, mkdir, mkdtemp, rename, rm, statfs } from "node:fs/promises";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { type Client, createClient } from "@libsql/client";
import { drizzle } from "drizzle-orm/libsql";
import { randomToken } from "../../shared/crypto.ts";
import type { Db } from "../../worker/db/client.ts";
import * as schema from "../../worker/db/schema.ts";
import type { NodeView, Target } from "../acceptance/admin.ts";
import { createGroup, createPolicy, createUser, findNode, login } from "../acceptance/admin.ts";
import type { Api } from "../acceptance/api.ts";
import { ensureLocalTarget, ensureS3Target } from "../acceptance/targets.ts";
import { stackPaths } from "../stack/config.ts";
import { type Follower, freePort } from "../stack/follower.ts";
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
  /** Lowers the disk's size to what is written on it plus `spare` bytes. */
  fill(spare: number): Promise<void>;
  /** Gives the disk its room back. */
  free(): Promise<void>;
  unmount(): Promise<void>;
}

/**
 * The S3 store behind the follower's S3 ingress target: s3rver on a port and a directory of its own,
 * stopped and started again in place by the s3_down fault (its buckets and objects stay on disk).
 */
export interface CampaignS3 {
  node: NodeView;
  /** The node's S3 target (not the default) and its local one (the default). */
  target: Target;
  local: Target;
  stop(): Promise<void>;
  start(): Promise<void>;
}

interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
const BUCKET = "campaign";

async function s3Store(
  directory: string,
): Promise<{ endpoint: string; stop(): Promise<void>; start(): Promise<void> }> {
  const S3rver = createRequire(import.meta.url)("s3rver") as new (options: object) => S3rverInstance;
  let port = 0;
  let server: S3rverInstance | null = null;
  const start = async () => {
    server = new S3rver({
      address: "127.0.0.1",
      port,
      silent: true,
      directory,
      configureBuckets: [{ name: BUCKET }],
    });
    port = (await server.run()).port;
  };
  await start();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    start,
    async stop() {
      await server?.close();
      server = null;
    },
  };
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
  s3: CampaignS3;
  /** The primary's V8 inspector (the soak reads the worker's heap through it, heap.ts). */
  inspectorPort: number;
  stop(): Promise<void>;
}

export async function startCampaignStack(log: (line: string) => void): Promise<CampaignStack> {
  const dataDir = await mkdtemp(join(tmpdir(), "flotilla-campaign-"));
  const adminPassword = randomToken("pw", 12);
  const inspectorPort = await freePort();
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
    { log: () => undefined, libsqlProcess: true, scheduledIntervalMs: 3_600_000, inspectorPort },
  ).catch(async (error) => {
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  });
  const paths = stackPaths(dataDir);
  const client = createClient({ url: stack.libsqlUrl, authToken: stack.libsqlAuthToken });
  const db = drizzle(client, { schema }) as unknown as Db;
  const runId = `campaign-${randomToken("", 4).slice(1)}`;
  const partSize = 1 * MiB;
  let store: Awaited<ReturnType<typeof s3Store>> | undefined;
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
    s3: undefined as unknown as CampaignS3,
    inspectorPort,
    async stop() {
      client.close();
      await campaign.follower.stop().catch(() => undefined);
      await stack.stop();
      await store?.stop();
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
    const local = (await ensureLocalTarget(admin, node)).target;
    store = await s3Store(join(dataDir, "s3"));
    const s3 = {
      endpoint: store.endpoint,
      region: "us-east-1",
      bucket: BUCKET,
      pathStyle: true,
      // s3rver's fixed key.
      accessKeyId: "S3RVER",
      secretAccessKey: "S3RVER",
      basePath: "campaign",
    };
    const { target } = await ensureS3Target(admin, node, s3, runId);
    campaign.s3 = { node, target, local, stop: store.stop, start: store.start };
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
