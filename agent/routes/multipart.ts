// Owns the multipart endpoints: create a session (its target fixed at creation), put parts (idempotent,
// any order, in parallel; signed or presigned), list them, complete (composed on the agent) and abort.
import { AppError } from "../../shared/errors.ts";
import { keyProblem } from "../../shared/protocol/keys.ts";
import { multipartCompleteSchema, multipartCreateSchema } from "../../shared/protocol/schemas.ts";
import type { AgentServices, Scope } from "../context.ts";
import { json, parseJson } from "../http.ts";
import { MAX_PARTS } from "../multipart.ts";
import {
  bodyBounds,
  ensureServing,
  heldToSignature,
  objectInfo,
  requestBody,
  withTicket,
} from "./objects.ts";

export async function createUpload(services: AgentServices, scope: Scope): Promise<Response> {
  ensureServing(services);
  const input = parseJson(scope.body, multipartCreateSchema);
  const target = await services.targets.resolve(input.target ?? null);
  const record = await services.multipart.create(
    input.key,
    target.key,
    input.content_type ?? null,
    input.part_size,
  );
  const { content_type: _, part_size: __, ...session } = record;
  return json(session, 201);
}

function partNumber(scope: Scope): number {
  const n = Number(scope.params.part);
  if (!Number.isInteger(n) || n < 1 || n > MAX_PARTS) {
    throw new AppError("multipart_invalid", `Part numbers run from 1 to ${MAX_PARTS}.`);
  }
  return n;
}

export async function putPart(services: AgentServices, scope: Scope): Promise<Response> {
  ensureServing(services);
  const id = scope.params.id ?? "";
  const n = partNumber(scope);
  const bounds = bodyBounds(services, scope);
  const session = await services.multipart.get(id);
  const target = await services.targets.resolve(session.target);
  const part = await withTicket(services, scope, () =>
    heldToSignature(bounds, () =>
      services.multipart.putPart(session, target.store, n, requestBody(services, scope), bounds),
    ),
  );
  return json(part, 200, { etag: part.etag });
}

export async function listParts(services: AgentServices, scope: Scope): Promise<Response> {
  const id = scope.params.id ?? "";
  await services.multipart.get(id);
  return json({ upload_id: id, parts: await services.multipart.parts(id) });
}

export async function complete(services: AgentServices, scope: Scope): Promise<Response> {
  ensureServing(services);
  const id = scope.params.id ?? "";
  const input = parseJson(scope.body, multipartCompleteSchema);
  const session = await services.multipart.get(id);
  if (keyProblem(session.key)) throw new AppError("multipart_invalid", "The session's key is not valid.");
  const target = await services.targets.resolve(session.target);
  const stored = await services.multipart.compose(session, target.store, input);
  await services.multipart.discard(id, target.store);
  services.log.info("multipart composed", {
    request_id: scope.requestId,
    target: target.key,
    size: stored.size,
  });
  const info = objectInfo(session.key, target.key, stored);
  return json(info, 201, { etag: info.etag });
}

export async function abort(services: AgentServices, scope: Scope): Promise<Response> {
  const id = scope.params.id ?? "";
  const session = await services.multipart.get(id).catch(() => null);
  if (session) {
    const target = await services.targets.resolve(session.target).catch(() => null);
    await services.multipart.discard(id, target?.store ?? null);
  }
  return new Response(null, { status: 204 });
}
