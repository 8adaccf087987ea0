// Owns the public operational endpoints: /health (the process serves), /health/ready (enrolled, binding
// enabled, default ingress target applied and writable; 503 names each failing check) and /metrics.
import { timingSafeEqual } from "../../shared/crypto.ts";
import { AppError } from "../../shared/errors.ts";
import type { Readiness } from "../../shared/protocol/schemas.ts";
import type { AgentServices } from "../context.ts";
import { json } from "../http.ts";

export function health(services: AgentServices): Response {
  return json({ status: "ok", version: services.version });
}

export async function ready(services: AgentServices): Promise<Response> {
  const { enrollment, binding } = services.state.current;
  const defaultKey = services.targets.defaultKey();
  const target = defaultKey ? services.state.current.targets[defaultKey] : undefined;
  const writable = target?.state === "applied" ? await services.targets.probeDefault() : "not applied";
  const checks: Readiness["checks"] = [
    { name: "enrolled", ok: enrollment !== null, reason: enrollment ? null : "The agent is not enrolled." },
    {
      name: "binding_enabled",
      ok: binding.enabled,
      reason: binding.enabled ? null : "The primary has disabled this node.",
    },
    {
      name: "default_target_applied",
      ok: target?.state === "applied",
      reason: !target
        ? "No default ingress target."
        : target.state === "applied"
          ? null
          : `Default target is ${target.state}${target.reason ? `: ${target.reason}` : ""}.`,
    },
    {
      name: "default_target_writable",
      ok: writable === null,
      reason: writable === null ? null : `Default target is not writable: ${writable}`,
    },
  ];
  const ok = checks.every((check) => check.ok);
  const body: Readiness = { status: ok ? "ready" : "not_ready", checks };
  return json(body, ok ? 200 : 503);
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
