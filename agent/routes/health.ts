// Owns the public operational endpoints: /health (the process serves), /health/ready (the follower is
// ready: enrolled, binding enabled, state and ingress root usable; the default ingress target reported
// beside it as its own field; 503 names each failing check) and /metrics.
import { constants } from "node:fs";
import { access, stat } from "node:fs/promises";
import { dirname } from "node:path";
import { timingSafeEqual } from "../../shared/crypto.ts";
import { AppError } from "../../shared/errors.ts";
import type { Readiness } from "../../shared/protocol/schemas.ts";
import type { AgentServices } from "../context.ts";
import { json } from "../http.ts";

type Check = Readiness["checks"][number];

const check = (name: string, reason: string | null): Check => ({ name, ok: reason === null, reason });

export function health(services: AgentServices): Response {
  return json({ status: "ok", version: services.version });
}

export async function ready(services: AgentServices): Promise<Response> {
  const { enrollment, binding } = services.state.current;
  const checks: Check[] = [
    check("enrolled", enrollment ? null : "The agent is not enrolled."),
    check("binding_enabled", binding.enabled ? null : "The primary has disabled this node."),
    check("state_writable", await writableDir(dirname(services.state.path), "The state directory")),
    check("ingress_root_usable", await rootUsable(services.config.managedIngressLocalRoot)),
  ];
  const channel = services.channel?.state();
  if (channel?.connectivity === "outbound") {
    // An outbound node is reached only through its channel: without it the primary cannot call.
    checks.push(
      check(
        "channel_connected",
        channel.connected
          ? null
          : `The channel to the primary is down${channel.last_error ? `: ${channel.last_error}` : "."}`,
      ),
    );
  }
  const ok = checks.every((c) => c.ok);
  const defaultChecks = await defaultTargetChecks(services);
  const body: Readiness = {
    status: ok ? "ready" : "not_ready",
    checks,
    default_target: { ok: defaultChecks.every((c) => c.ok), checks: defaultChecks },
    ...(channel ? { channel } : {}),
  };
  return json(body, ok ? 200 : 503);
}

/** Applied and writable: what object traffic needs, reported apart from readiness. */
async function defaultTargetChecks(services: AgentServices): Promise<Check[]> {
  const defaultKey = services.targets.defaultKey();
  const target = defaultKey ? services.state.current.targets[defaultKey] : undefined;
  const writable = target?.state === "applied" ? await services.targets.probeDefault() : "not applied";
  return [
    check(
      "default_target_applied",
      !target
        ? "No default ingress target yet: create one on the primary."
        : target.state === "applied"
          ? null
          : `Default target is ${target.state}${target.reason ? `: ${target.reason}` : ""}.`,
    ),
    check(
      "default_target_writable",
      writable === null ? null : `Default target is not writable: ${writable}`,
    ),
  ];
}

/** Null when `dir` is a directory this process can write; otherwise a reason that names no path. */
async function writableDir(dir: string, what: string): Promise<string | null> {
  try {
    if (!(await stat(dir)).isDirectory()) return `${what} is not a directory.`;
    await access(dir, constants.W_OK | constants.X_OK);
    return null;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === "ENOENT" ? `${what} is missing.` : `${what} is not writable (${code ?? "error"}).`;
  }
}

/** The ingress root may not exist before the first local target; then its nearest parent must be writable. */
async function rootUsable(root: string): Promise<string | null> {
  let dir = root;
  for (;;) {
    const exists = await stat(dir).then(
      () => true,
      () => false,
    );
    if (exists) return writableDir(dir, dir === root ? "The ingress root" : "The ingress root's parent");
    const parent = dirname(dir);
    if (parent === dir) return "The ingress root cannot be created.";
    dir = parent;
  }
}

export async function metrics(services: AgentServices, request: Request): Promise<Response> {
  const token = services.config.metricsToken;
  if (token === null) throw new AppError("not_found", "No such endpoint.");
  const given = request.headers.get("authorization")?.replace(/^Bearer\s+/i, "") ?? "";
  if (!timingSafeEqual(given, token)) throw new AppError("unauthorized", "A metrics token is required.");
  return new Response(await services.metrics.render(), {
    headers: { "content-type": services.metrics.contentType },
  });
}
