// `npm run acceptance`: walks the tutorial (§1–§8 per mode and target, then §9–§11 once, routing.ts)
// against a RUNNING Flotilla over its public API
// (FLOTILLA_URL, FLOTILLA_ADMIN_USERNAME, FLOTILLA_ADMIN_PASSWORD; see config.ts for the rest). One
// line per step, a summary, exit code 1 on any failed step (2 when the environment is incomplete).
// Everything it creates is named with the run id and removed at the end, the default target restored.
import { findNode, login, type Target, testConnection } from "./admin.ts";
import { runCombo } from "./combo.ts";
import { type AcceptanceConfig, readConfig } from "./config.ts";
import { runRouting } from "./routing.ts";
import { ensureLocalTarget, ensureS3Target, listTargets, makeDefault } from "./targets.ts";
import { check, need, Walk } from "./walk.ts";

async function readiness(baseUrl: string): Promise<string> {
  const response = await fetch(new URL("/health/ready", `${baseUrl.replace(/\/+$/, "")}/`));
  const text = await response.text();
  check(response.status === 200, `/health/ready answered ${response.status}: ${text.slice(0, 300)}`);
  return "200";
}

async function walkAll(config: AcceptanceConfig, walk: Walk): Promise<void> {
  const startedAt = new Date();
  const admin = await walk.step("admin login", async (c) => {
    c.note(config.adminUsername);
    return login(config.url, config.adminUsername, config.adminPassword, `acceptance ${config.runId}`);
  });
  const node = await walk.step("follower node ready (enrolled, enabled, base_url)", async (c) => {
    const found = await findNode(need(admin, "admin login"), config.nodeName);
    c.note(
      found.connectivity === "outbound"
        ? `${found.name}, outbound-only (reached through its channel)`
        : `${found.name} at ${found.base_url}`,
    );
    return found;
  });
  const needPresigned = config.modes.includes("presigned");
  const tested = await walk.step("Test Connection", async (c) => {
    const result = await testConnection(
      need(admin, "admin login"),
      need(node, "follower node ready"),
      needPresigned,
    );
    const features = Object.entries(result.capabilities.features)
      .filter(([, on]) => on)
      .map(([name]) => name);
    c.note(
      `protocol ${result.protocol_version} (${result.capabilities.protocol_range}), server ${result.server_version}, over ${result.path}, ${features.join(" ")}`,
    );
    return result;
  });
  const before = await walk.step("default ingress target (local, base path default)", async (c) => {
    const api = need(admin, "admin login");
    const n = need(node, "follower node ready");
    const previous = (await listTargets(api, n.id)).find((t) => t.is_default) ?? null;
    const { target, created } = await ensureLocalTarget(api, n);
    c.note(`${target.name} ${created ? "created" : "reused"}, ${target.state}`);
    return { previous, local: target };
  });
  await walk.step("follower /health/ready", async (c) => {
    const n = need(node, "follower node ready");
    if (n.connectivity === "direct") {
      c.note(await readiness(n.base_url));
      return;
    }
    // Nothing reaches an outbound-only follower but its channel: its readiness came with Test Connection.
    const ready = need(tested, "Test Connection").readiness;
    check(ready?.status === "ready", `the follower is ${ready?.status ?? "silent"} through its channel`);
    check(
      ready?.checks.some((one) => one.name === "channel_connected" && one.ok) === true,
      "the follower does not count its channel as connected",
    );
    c.note("ready, through the channel");
  });
  let s3Target: { target: Target; created: boolean } | undefined;
  if (config.targets.includes("s3") && config.s3) {
    const s3 = config.s3;
    s3Target = await walk.step("s3 ingress target", async (c) => {
      const found = await ensureS3Target(
        need(admin, "admin login"),
        need(node, "follower node ready"),
        s3,
        config.runId,
      );
      c.note(
        `${found.target.name} ${found.created ? "created" : "reused"} (${s3.bucket}/${s3.basePath}), ${found.target.state}`,
      );
      return found;
    });
  }

  let current: Target | undefined;
  for (const kind of config.targets) {
    const target = await walk.step(`${kind}: make it the default ingress target`, async (c) => {
      const chosen: Target | undefined = kind === "local" ? before?.local : s3Target?.target;
      const made = await makeDefault(
        need(admin, "admin login"),
        need(node, "follower node ready"),
        need(chosen, `${kind} ingress target`),
      );
      c.note(`${made.name}, applied`);
      return made;
    });
    for (const mode of config.modes) await runCombo({ walk, admin, node, config, mode, kind, target });
    current = target;
  }
  await runRouting({ walk, admin, node, config, target: current, startedAt });

  await walk.step("restore the default ingress target", async (c) => {
    const api = need(admin, "admin login");
    const n = need(node, "follower node ready");
    const original =
      need(before, "default ingress target").previous ?? need(before, "default ingress target").local;
    await makeDefault(api, n, original);
    if (s3Target?.created)
      await api.ok("DELETE", `/api/v1/admin/nodes/${n.id}/ingress-targets/${s3Target.target.id}`);
    c.note(`${original.name}${s3Target?.created ? `; ${s3Target.target.name} deleted` : ""}`);
  });
}

let config: AcceptanceConfig;
try {
  config = readConfig(process.env);
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(2);
}
console.log(
  `Acceptance walk ${config.runId} against ${config.url}: modes ${config.modes.join(", ")}; targets ${config.targets.join(", ")}`,
);
const walk = new Walk((line) => console.log(line), config.stepTimeoutMs);
await walkAll(config, walk);
console.log(walk.summary());
if (walk.failed > 0) console.log(`Failed steps:\n  ${walk.failures.join("\n  ")}`);
process.exit(walk.failed > 0 ? 1 : 0);
