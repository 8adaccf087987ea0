// Owns Test Connection: a signed capability probe of one follower, judged against what the node's
// remote policies need, and stored. A document that answers and fits becomes the last good probe; a
// network failure or an incompatible answer records the error and keeps the last good probe.
import { and, eq } from "drizzle-orm";
import { z } from "zod";
import { AppError } from "../../shared/errors.ts";
import { paths } from "../../shared/protocol/keys.ts";
import { type Capabilities, type Readiness, readinessSchema } from "../../shared/protocol/schemas.ts";
import { followerNodes, storagePolicies } from "../db/schema.ts";
import type { Services } from "../services.ts";
import { pushBinding } from "./binding.ts";
import { CHANNEL_ORIGIN, channelFetch } from "./channel.ts";
import { followerClient, type NodeRow, reasonOf } from "./client.ts";
import { compatibilityProblems, requirementsOf } from "./compat.ts";
import { fromFollower } from "./errors.ts";
import { recordEvent } from "./events.ts";

export interface ProbeOutcome {
  ok: boolean;
  /** The refusal to answer with when !ok (already recorded on the node). */
  error: AppError | null;
  capabilities: Capabilities | null;
  /** The follower's /health/ready document taken alongside (stored too); null when it gave none. */
  readiness: Readiness | null;
}

export async function remotePoliciesOf(services: Services, nodeId: string) {
  return services.db
    .select({
      id: storagePolicies.id,
      name: storagePolicies.name,
      uploadMode: storagePolicies.uploadMode,
      downloadMode: storagePolicies.downloadMode,
    })
    .from(storagePolicies)
    .where(and(eq(storagePolicies.nodeId, nodeId), eq(storagePolicies.driver, "remote")));
}

/**
 * Probes the node (which must be enrolled and have a base_url) and stores the result, with the
 * follower's readiness document fetched at the same time (maintenance view, tutorial §11).
 */
export async function probeNode(services: Services, node: NodeRow): Promise<ProbeOutcome> {
  const client = await followerClient(services, node);
  const at = services.now();
  const [answer, readiness] = await Promise.all([
    client.capabilities().then(
      (caps) => ({ caps }),
      (thrown: unknown) => ({ thrown }),
    ),
    readinessOf(services, node),
  ]);
  const lastReadinessJson = readiness ? JSON.stringify(readiness) : null;
  if ("thrown" in answer) {
    const error = classify(answer.thrown);
    await services.db
      .update(followerNodes)
      .set({
        lastProbeAt: at,
        lastProbeError: reasonOf(error),
        lastProbeJson: null,
        lastReadinessJson,
        updatedAt: at,
      })
      .where(eq(followerNodes.id, node.id));
    await recordEvent(services, node.id, "error", "probe", reasonOf(error));
    return { ok: false, error, capabilities: null, readiness };
  }
  const caps = answer.caps;
  const problems = compatibilityProblems(caps, requirementsOf(await remotePoliciesOf(services, node.id)));
  const json = JSON.stringify(caps);
  if (problems.length > 0) {
    const error = new AppError(
      "node_incompatible",
      `The follower is not compatible: ${problems.join("; ")}.`,
      {
        details: { problems },
      },
    );
    await services.db
      .update(followerNodes)
      .set({
        lastProbeAt: at,
        lastProbeError: reasonOf(error),
        lastProbeJson: json,
        lastReadinessJson,
        updatedAt: at,
      })
      .where(eq(followerNodes.id, node.id));
    await recordEvent(services, node.id, "error", "probe", reasonOf(error));
    return { ok: false, error, capabilities: caps, readiness };
  }
  await services.db
    .update(followerNodes)
    .set({
      lastProbeAt: at,
      lastProbeError: null,
      lastProbeJson: json,
      lastReadinessJson,
      lastGoodProbeAt: at,
      lastGoodProbeJson: json,
      updatedAt: at,
    })
    .where(eq(followerNodes.id, node.id));
  await recordEvent(
    services,
    node.id,
    "info",
    "probe",
    `protocol ${caps.protocol}, server ${caps.server_version}`,
  );
  // The follower's binding drifted from the record (a push it missed): repair it, best effort.
  if (caps.binding.enabled !== node.enabled || caps.binding.name !== node.name) {
    await pushBinding(services, { ...node, updatedAt: at });
  }
  return { ok: true, error: null, capabilities: caps, readiness };
}

/** A capability document that does not parse as protocol v2 is an incompatible follower, not a crash. */
function classify(thrown: unknown): AppError {
  if (thrown instanceof AppError && thrown.code === "follower_error" && thrown.cause instanceof z.ZodError) {
    const fields = [...new Set(thrown.cause.issues.map((i) => i.path.join(".") || "(document)"))];
    return new AppError(
      "node_incompatible",
      `The follower's capability document does not match protocol v2 (${fields.join(", ")}).`,
      { details: { problems: fields.map((f) => `field ${f} does not match protocol v2`) } },
    );
  }
  const mapped = fromFollower(thrown);
  return mapped instanceof AppError ? mapped : new AppError("internal", "Internal error.", { cause: thrown });
}

const READY_TIMEOUT_MS = 5_000;

/**
 * The follower's public /health/ready (tutorial step 1), fetched alongside every probe. Best effort:
 * null when it does not answer in time or not with protocol v2's readiness document.
 */
async function readinessOf(services: Services, node: NodeRow): Promise<Readiness | null> {
  const outbound = node.connectivity === "outbound";
  if (!outbound && node.baseUrl === "") return null;
  // An outbound node is asked through its channel like every other call; its base_url is never dialled.
  const [origin, doFetch] = outbound
    ? [CHANNEL_ORIGIN, channelFetch(services.env, node.id)]
    : [node.baseUrl, services.fetch];
  try {
    const response = await doFetch(`${origin}${paths.ready}`, {
      signal: AbortSignal.timeout(READY_TIMEOUT_MS),
    });
    const parsed = readinessSchema.safeParse(await response.json());
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
