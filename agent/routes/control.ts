// Owns the signed control endpoints: capabilities ("Test Connection"), the binding push (name, enabled)
// and the ingress-target CRUD the primary drives.
import { AppError } from "../../shared/errors.ts";
import { TARGET_KEY } from "../../shared/protocol/keys.ts";
import { PRESIGN_MAX_TTL_SECONDS } from "../../shared/protocol/presign.ts";
import {
  BROWSER_CORS,
  bindingStateSchema,
  type Capabilities,
  ingressTargetSpecSchema,
  PROTOCOL_VERSION,
} from "../../shared/protocol/schemas.ts";
import { MAX_SKEW_SECONDS } from "../../shared/protocol/signing.ts";
import type { AgentServices, Scope } from "../context.ts";
import { json, MAX_JSON_BODY_BYTES, parseJson } from "../http.ts";
import { MAX_PARTS } from "../multipart.ts";

export async function capabilities(services: AgentServices): Promise<Response> {
  const { enrollment, binding } = services.state.current;
  const body: Capabilities = {
    protocol: PROTOCOL_VERSION,
    protocol_min: PROTOCOL_VERSION,
    protocol_max: PROTOCOL_VERSION,
    server_version: services.version,
    node_id: enrollment?.node_id ?? "",
    binding: { name: binding.name, enabled: binding.enabled },
    features: {
      ranges: true,
      conditional_get: true,
      sha256: true,
      multipart: true,
      presigned: true,
      browser_presigned_cors: services.config.baseUrl !== null,
      copy: true,
      pull: true,
    },
    browser_cors: {
      allowed_origins: enrollment ? [enrollment.primary_origin] : [],
      allowed_headers: [...BROWSER_CORS.allowed_headers],
      exposed_headers_get: [...BROWSER_CORS.exposed_headers_get],
      exposed_headers_put: [...BROWSER_CORS.exposed_headers_put],
    },
    limits: {
      max_object_bytes: services.config.maxObjectBytes || null,
      max_part_bytes: 5 * 1024 * 1024 * 1024,
      max_parts: MAX_PARTS,
      max_json_body_bytes: MAX_JSON_BODY_BYTES,
      presign_max_ttl_seconds: PRESIGN_MAX_TTL_SECONDS,
      clock_skew_seconds: MAX_SKEW_SECONDS,
    },
    ingress_targets: await services.targets.list(),
    default_target: services.targets.defaultKey(),
  };
  return json(body);
}

export async function pushBinding(services: AgentServices, scope: Scope): Promise<Response> {
  const pushed = parseJson(scope.body, bindingStateSchema);
  const current = services.state.current.binding;
  const revision = pushed.revision ?? current.revision;
  if (revision < current.revision) {
    throw new AppError("ingress_revision_stale", "A newer binding state was already pushed.", {
      details: { current_revision: current.revision },
    });
  }
  await services.state.update((state) => {
    state.binding = { name: pushed.name, enabled: pushed.enabled, revision };
  });
  services.log.info("binding updated", { request_id: scope.requestId, enabled: pushed.enabled });
  return json({ name: pushed.name, enabled: pushed.enabled, revision });
}

export async function listTargets(services: AgentServices): Promise<Response> {
  return json({ targets: await services.targets.list() });
}

function targetKey(scope: Scope): string {
  const key = scope.params.key ?? "";
  if (!TARGET_KEY.test(key)) throw new AppError("validation_failed", "The ingress target key is not valid.");
  return key;
}

export async function upsertTarget(services: AgentServices, scope: Scope): Promise<Response> {
  const key = targetKey(scope);
  const spec = parseJson(scope.body, ingressTargetSpecSchema);
  const { created, info } = await services.targets.upsert(key, spec);
  services.log.info("ingress target pushed", {
    request_id: scope.requestId,
    target: key,
    driver: spec.driver,
    revision: spec.revision,
    state: info.state,
  });
  return json(info, created ? 201 : 200);
}

export async function deleteTarget(services: AgentServices, scope: Scope): Promise<Response> {
  await services.targets.remove(targetKey(scope));
  return new Response(null, { status: 204 });
}
