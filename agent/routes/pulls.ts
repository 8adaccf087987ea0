// Owns the pull endpoints: start a pull of an object from a URL into an ingress target (the bytes go
// from the source straight to this node, held to the declared size and SHA-256), read its state, and
// cancel it. Signed only: a browser never asks a follower to fetch anything.

import { AppError } from "../../shared/errors.ts";
import { PULL_ID, pullRequestSchema } from "../../shared/protocol/schemas.ts";
import type { AgentServices, Scope } from "../context.ts";
import { json, parseJson } from "../http.ts";
import { ensureServing } from "./objects.ts";

function pullId(scope: Scope): string {
  const id = scope.params.id ?? "";
  if (!PULL_ID.test(id)) throw new AppError("validation_failed", "The pull id is not valid.");
  return id;
}

export async function startPull(services: AgentServices, scope: Scope): Promise<Response> {
  ensureServing(services);
  const request = parseJson(scope.body, pullRequestSchema);
  const max = services.config.maxObjectBytes;
  if (max > 0 && request.size > max) {
    throw new AppError("object_too_large", `Objects may be at most ${max} bytes.`, {
      details: { max_bytes: max },
    });
  }
  const target = await services.targets.resolve(request.target ?? null);
  const status = services.pulls.start(request, target);
  services.log.info("object pull started", {
    request_id: scope.requestId,
    pull_id: request.pull_id,
    target: target.key,
    size: request.size,
  });
  return json(status, 202);
}

export async function pullStatus(services: AgentServices, scope: Scope): Promise<Response> {
  return json(services.pulls.status(pullId(scope)));
}

export async function cancelPull(services: AgentServices, scope: Scope): Promise<Response> {
  services.pulls.cancel(pullId(scope));
  return new Response(null, { status: 204 });
}
