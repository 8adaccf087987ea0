// Owns the benchmark's outbound-only follower: a second agent in the same stack, enrolled through the
// admin's own path, whose node is outbound, so the primary reaches it only through the channel the
// agent opens (its base_url is never dialled); a relay_stream policy, group and user on it, so the
// same transfers can run through the channel and through the direct follower and be compared.
import { join } from "node:path";
import { enrollmentTokenSchema, nodeDetailsSchema, nodeSchema } from "../../worker/api/nodes.ts";
import { createGroup, createPolicy, createUser, login, testConnection } from "../acceptance/admin.ts";
import type { Api } from "../acceptance/api.ts";
import { ensureLocalTarget } from "../acceptance/targets.ts";
import { type Follower, startFollower } from "../stack/follower.ts";

export interface ChannelFollower {
  user: Api;
  agentPid: number;
  stop(): Promise<void>;
}

export async function startChannelFollower(options: {
  admin: Api;
  origin: string;
  dataDir: string;
  runId: string;
  partSize: number;
  password: string;
  log: (line: string) => void;
}): Promise<ChannelFollower> {
  const { admin, runId } = options;
  const node = await admin.json("POST", "/api/v1/admin/nodes", nodeSchema, {
    body: { name: `${runId} channel`, connectivity: "outbound" },
  });
  const { token } = await admin.json(
    "POST",
    `/api/v1/admin/nodes/${node.id}/enrollment-token`,
    enrollmentTokenSchema,
    { body: {} },
  );
  let follower: Follower | undefined;
  try {
    follower = await startFollower({
      host: "127.0.0.1",
      port: 0,
      dataDir: join(options.dataDir, "follower-channel"),
      ingressRoot: join(options.dataDir, "follower-channel-ingress"),
      enroll: { primaryUrl: options.origin, token },
      onLog: (line) => {
        if (/"level":"(warn|error)"/.test(line)) options.log(`[channel follower] ${line}`);
      },
    });
    const enrolled = await waitForChannel(admin, node.id);
    await testConnection(admin, enrolled, false);
    await ensureLocalTarget(admin, enrolled);
    const policy = await createPolicy(
      admin,
      enrolled,
      { runId, chunkSize: options.partSize },
      "relay_stream",
      "channel",
    );
    const group = await createGroup(admin, policy, `${runId} channel`);
    const user = await createUser(admin, group, `${runId}-channel`, options.password);
    const running = follower;
    return {
      user: await login(options.origin, user.username, options.password, runId),
      agentPid: running.child.pid!,
      stop: () => running.stop(),
    };
  } catch (error) {
    await follower?.stop();
    throw error;
  }
}

/** The node once its agent has enrolled and opened its channel (the agent asks at start). */
async function waitForChannel(admin: Api, nodeId: string) {
  for (let attempt = 0; attempt < 300; attempt++) {
    const node = await admin.json("GET", `/api/v1/admin/nodes/${nodeId}`, nodeDetailsSchema);
    if (node.enrollment.status === "completed" && node.channel?.connected) return node;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error("the outbound follower did not open its channel within 30 s");
}
