// Owns the tutorial's last three sections, walked once after the §4–§8 passes: §9 a policy group
// routing small files to the primary's own store and large ones to the follower (the resolution
// preview and real uploads of both sizes, each stored where its rule says); §10 moving the user to
// another group (new uploads follow it, old files are still read through their original policy) and
// a default group for new users; §11 the routine-maintenance checks on the node. Everything created
// is removed at the end; the default group is restored.
import { randomBytes } from "node:crypto";
import { z } from "zod";
import { nodeDetailsSchema, nodeEventListSchema } from "../../worker/api/nodes.ts";
import { policyListSchema } from "../../worker/api/policies.ts";
import { policyGroupListSchema, policyGroupSchema } from "../../worker/api/policy-groups.ts";
import { userSchema } from "../../worker/api/users.ts";
import {
  checkResolution,
  createGroup,
  createPolicy,
  createUser,
  login,
  type NodeView,
  type Policy,
  type Target,
} from "./admin.ts";
import type { Api } from "./api.ts";
import { bestEffort } from "./cleanup.ts";
import type { AcceptanceConfig } from "./config.ts";
import { downloadWhole, purge } from "./files.ts";
import { randomFile } from "./fixtures.ts";
import { storageCheck } from "./storage.ts";
import { type FileOut, uploadFile } from "./upload.ts";
import { check, mib, need, type StepContext, type Walk } from "./walk.ts";

export interface RoutingInput {
  walk: Walk;
  admin: Api | undefined;
  node: NodeView | undefined;
  config: AcceptanceConfig;
  /** The node's default ingress target during the walk (where remote uploads land). */
  target: Target | undefined;
  /** When the walk began: §11 looks for errors recorded on the node since then. */
  startedAt: Date;
}

const storageSchema = z.object({ policy: z.object({ id: z.string() }) });

export async function runRouting(input: RoutingInput): Promise<void> {
  const { walk, config } = input;
  const admin = () => need(input.admin, "admin login");
  const node = () => need(input.node, "follower node ready");
  const step = <T>(name: string, run: (context: StepContext) => Promise<T>) => walk.step(name, run);
  const threshold = config.chunkSize;
  const files: FileOut[] = [];
  const groups: { id: string }[] = [];
  const users: { id: string }[] = [];
  let remote: Policy | undefined;
  let previousDefault: string | undefined;

  const routing = await step(
    "§9 size routing group: small files to the primary store, large to the follower",
    async (c) => {
      const { policies } = await admin().json("GET", "/api/v1/admin/policies", policyListSchema);
      const primary = policies.find((p) => p.driver === "primary");
      check(primary !== undefined, "no primary-store policy to route small files to");
      remote = await createPolicy(admin(), node(), config, "relay_stream", "routing");
      const group = await admin().json("POST", "/api/v1/admin/policy-groups", policyGroupSchema, {
        body: {
          name: `Size Routing ${config.runId}`,
          rules: [
            { policy_id: primary.id, priority: 1, min_size: 0, max_size: threshold },
            { policy_id: remote.id, priority: 2, min_size: threshold, max_size: 0 },
          ],
        },
      });
      groups.push(group);
      check(
        group.warnings.length === 0,
        `the group leaves sizes unmatched: ${JSON.stringify(group.warnings)}`,
      );
      c.note(`[0, ${mib(threshold)}) -> ${primary.name}; ${mib(threshold)} and up -> ${remote.name}`);
      return { group, primary: primary as Policy, remote };
    },
  );

  const user = await step(
    "§9 a user bound to it; the resolution preview names the policy for each size",
    async (c) => {
      const r = need(routing, "§9 size routing group");
      const username = `${config.runId}-routing`;
      const password = `pw-${randomBytes(12).toString("hex")}`;
      const created = await createUser(admin(), r.group, username, password);
      users.push(created);
      await checkResolution(admin(), { user: created }, r.primary, threshold - 1);
      await checkResolution(admin(), { user: created }, r.remote, threshold);
      c.note(`${username}: ${threshold - 1} bytes -> primary store, ${threshold} bytes -> follower`);
      return {
        user: created,
        api: await login(config.url, username, password, `acceptance ${config.runId}`),
      };
    },
  );
  const as = () => need(user, "§9 a user bound to it").api;

  const stored = await step(
    "§9 upload a small and a large file: each stored with the policy its rule names",
    async (c) => {
      const r = need(routing, "§9 size routing group");
      const small = await uploadFile(
        as(),
        randomFile(`routing-small-${config.runId}.bin`, 10_000),
        "relay_stream",
        config.runId,
      );
      files.push(small.file);
      const largeFixture = randomFile(`routing-large-${config.runId}.bin`, threshold + 1000);
      const large = await uploadFile(as(), largeFixture, "relay_stream", config.runId);
      files.push(large.file);
      check(small.file.policy_id === r.primary.id, `the small file went to policy ${small.file.policy_id}`);
      check(large.file.policy_id === r.remote.id, `the large file went to policy ${large.file.policy_id}`);
      await storageCheck(admin(), large.file, r.remote, need(input.target, "the default ingress target"));
      c.note(`${mib(10_000)} on ${r.primary.name}, ${mib(largeFixture.bytes.length)} on the follower`);
      return { large: large.file, largeFixture };
    },
  );

  await step(
    "§10 the user moved to another group: new uploads follow it, old files still read through their policy",
    async (c) => {
      const r = need(routing, "§9 size routing group");
      const s = need(stored, "§9 upload a small and a large file");
      const other = await createGroup(admin(), r.primary, `Primary only ${config.runId}`);
      groups.push(other);
      const u = need(user, "§9 a user bound to it").user;
      await admin().ok("PATCH", `/api/v1/admin/users/${u.id}`, { body: { policy_group_id: other.id } });
      const after = await uploadFile(
        as(),
        randomFile(`routing-after-${config.runId}.bin`, threshold + 1000),
        "relay_stream",
        config.runId,
      );
      files.push(after.file);
      check(after.file.policy_id === r.primary.id, `a new large upload went to ${after.file.policy_id}`);
      const old = await admin().json("GET", `/api/v1/admin/files/${s.large.id}/storage`, storageSchema);
      check(old.policy.id === r.remote.id, "the old file changed policy");
      await downloadWhole(as(), s.large, s.largeFixture, "relay_stream");
      c.note("new large upload on the primary store; the old one still on the follower, sha256 ok");
    },
  );

  await step("§10 the size routing group as the default for new users", async (c) => {
    const r = need(routing, "§9 size routing group");
    const { policy_groups: all } = await admin().json(
      "GET",
      "/api/v1/admin/policy-groups",
      policyGroupListSchema,
    );
    previousDefault = all.find((g) => g.is_default)?.id;
    await admin().ok("PATCH", `/api/v1/admin/policy-groups/${r.group.id}`, { body: { is_default: true } });
    const newcomer = await admin().json("POST", "/api/v1/admin/users", userSchema, {
      body: { username: `${config.runId}-newcomer`, password: `pw-${randomBytes(12).toString("hex")}` },
    });
    users.push(newcomer);
    await checkResolution(admin(), { user: newcomer }, r.remote, threshold);
    c.note("a user created now resolves large files to the follower");
  });

  await step(
    "§11 routine maintenance: connection, readiness, target, space, groups, no recent errors",
    async (c) => {
      const n = node();
      await admin().ok("POST", `/api/v1/admin/nodes/${n.id}/test`, { body: {} });
      const details = await admin().json("GET", `/api/v1/admin/nodes/${n.id}`, nodeDetailsSchema);
      check(details.last_probe?.ok === true, `the last connection test failed: ${details.last_probe?.error}`);
      check(details.last_probe.readiness?.status === "ready", "/health/ready is not ready");
      const target = details.ingress_targets.find((t) => t.is_default);
      check(target?.state === "applied", `the default ingress target is ${target?.state ?? "missing"}`);
      const space = details.last_probe.capabilities?.ingress_targets.find((t) => t.key === target.key);
      // A local target's disk has room; an s3 target's credentials were valid when it last applied.
      if (target.driver === "local")
        check((space?.free_bytes ?? 0) > 0, "the ingress root reports no free space");
      else check(target.s3?.has_credentials === true, "the s3 target has no valid credentials");
      const groupsHere = details.policies.flatMap((p) => p.groups);
      check(
        groupsHere.some((g) => g.id === need(routing, "§9 size routing group").group.id && g.enabled),
        "the size routing group is not enabled on this node's policies",
      );
      const { items } = await admin().json(
        "GET",
        `/api/v1/admin/nodes/${n.id}/events?level=error&limit=50`,
        nodeEventListSchema,
      );
      const recent = items.filter((e) => Date.parse(e.at) >= input.startedAt.getTime());
      check(
        recent.length === 0,
        `errors since the walk began: ${recent.map((e) => `${e.kind}: ${e.message}`).join("; ")}`,
      );
      c.note(
        `probe ok, ready, ${target.name} applied, ${target.driver === "local" ? `${mib(space?.free_bytes ?? 0)} free` : "s3 credentials valid"}, no errors since the walk began`,
      );
    },
  );

  await step("§9–§11 clean up", async (c) => {
    need(routing, "§9 size routing group");
    const { attempt, problems } = bestEffort();
    for (const file of files) await attempt("purge", () => purge(as(), file));
    if (previousDefault)
      await attempt("default group", () =>
        admin().ok("PATCH", `/api/v1/admin/policy-groups/${previousDefault}`, { body: { is_default: true } }),
      );
    for (const u of users)
      await attempt("user", () =>
        admin().ok("PATCH", `/api/v1/admin/users/${u.id}`, {
          body: { disabled: true, policy_group_id: null },
        }),
      );
    for (const g of groups)
      await attempt("group", () => admin().ok("DELETE", `/api/v1/admin/policy-groups/${g.id}`));
    if (remote)
      await attempt("policy", () =>
        admin()
          .ok("DELETE", `/api/v1/admin/policies/${remote!.id}`)
          .catch((e) => {
            if ((e as { code?: string }).code !== "policy_in_use") throw e;
          }),
      );
    check(problems.length === 0, problems.join("; "));
    c.note(
      `${files.length} files purged, default group restored, ${users.length} users disabled, ${groups.length} groups and the policy deleted`,
    );
  });
}
