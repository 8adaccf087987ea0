// Owns the wire shape of move jobs on the admin API: the request (source policy or node to drain,
// target policy, optional scope) shared by the dry run and the job, the dry run's answer, and a job
// with its progress and failed files.
import { z } from "zod";
import { MOVE_JOB_STATES, MOVE_SCOPES, MOVE_SOURCES, type moveJobs } from "../db/schema.ts";
import { iso, timestamp } from "./wire.ts";

// The shapes worker/moves/ hands these mappers (and takes from toMoveRequest).

export type MoveSource = { kind: "policy"; policyId: string } | { kind: "node"; nodeId: string };
export interface MoveScopeRef {
  kind: (typeof MOVE_SCOPES)[number];
  /** The user, team or folder id; null for `all`. */
  id: string | null;
}
export interface MoveRequest {
  source: MoveSource;
  targetPolicyId: string;
  scope: MoveScopeRef;
}

/** Why files of a dry run cannot move: the target cannot take files now, or this file. */
export const MOVE_BLOCK_REASONS = [
  "target_node_missing",
  "target_node_disabled",
  "target_no_default_ingress",
  "over_target_limit",
  "in_other_move",
] as const;
export type MoveBlockReason = (typeof MOVE_BLOCK_REASONS)[number];

export interface Tally {
  files: number;
  bytes: number;
}

export interface MovePlan {
  files: number;
  bytes: number;
  movable: Tally;
  blocked: (Tally & {
    reason: MoveBlockReason;
    examples: { fileId: string; name: string; size: number }[];
  })[];
  space: { neededBytes: number; freeBytes: number | null; enough: boolean | null; probedAt: Date | null };
  path: "pull" | "relay";
}

export interface MoveProgress {
  total: Tally;
  done: Tally;
  failed: Tally;
  skipped: Tally;
  cancelled: Tally;
  /** Pending files whose last attempt met a storage that could not be reached or used. */
  waiting: Tally;
  copying: Tally;
  pending: Tally;
  /** Bytes of the copies under way that have reached the target so far. */
  copyingBytesDone: number;
  runMs: number;
  /** Bytes switched per second of running time; null before anything moved. */
  bytesPerSecond: number | null;
  /** At that rate, for what is still to move; null when unknown. */
  secondsLeft: number | null;
}

export interface MoveFailure {
  fileId: string;
  name: string | null;
  size: number;
  code: string;
  message: string;
  attempts: number;
  finishedAt: Date | null;
}

const id = z.string().min(1).max(64);

export const moveRequestBody = z
  .object({
    source: z.discriminatedUnion("kind", [
      z.object({ kind: z.literal("policy"), policy_id: id }),
      z.object({ kind: z.literal("node"), node_id: id }),
    ]),
    target_policy_id: id,
    scope: z
      .object({ kind: z.enum(MOVE_SCOPES), id: id.nullish() })
      .refine((s) => (s.kind === "all") === (s.id == null), {
        message: "A user, team or folder scope names its id; `all` names none.",
      })
      .default({ kind: "all", id: null }),
  })
  .strict();

export function toMoveRequest(body: z.output<typeof moveRequestBody>): MoveRequest {
  return {
    source:
      body.source.kind === "policy"
        ? { kind: "policy", policyId: body.source.policy_id }
        : { kind: "node", nodeId: body.source.node_id },
    targetPolicyId: body.target_policy_id,
    scope: { kind: body.scope.kind, id: body.scope.id ?? null },
  };
}

const tally = z.object({ files: z.number().int(), bytes: z.number().int() });

export const movePlanSchema = z.object({
  files: z.number().int(),
  bytes: z.number().int(),
  movable: tally,
  blocked: z.array(
    tally.extend({
      reason: z.enum(MOVE_BLOCK_REASONS),
      examples: z.array(z.object({ file_id: z.string(), name: z.string(), size: z.number().int() })),
    }),
  ),
  space: z.object({
    needed_bytes: z.number().int(),
    free_bytes: z.number().int().nullable(),
    enough: z.boolean().nullable(),
    probed_at: timestamp.nullable(),
  }),
  path: z.enum(["pull", "relay"]),
});

export function toMovePlanOut(plan: MovePlan): z.input<typeof movePlanSchema> {
  return {
    files: plan.files,
    bytes: plan.bytes,
    movable: plan.movable,
    blocked: plan.blocked.map((b) => ({
      reason: b.reason,
      files: b.files,
      bytes: b.bytes,
      examples: b.examples.map((e) => ({ file_id: e.fileId, name: e.name, size: e.size })),
    })),
    space: {
      needed_bytes: plan.space.neededBytes,
      free_bytes: plan.space.freeBytes,
      enough: plan.space.enough,
      probed_at: iso(plan.space.probedAt),
    },
    path: plan.path,
  };
}

const progressSchema = z.object({
  total: tally,
  done: tally,
  failed: tally,
  skipped: tally,
  cancelled: tally,
  waiting: tally,
  copying: tally.extend({ bytes_done: z.number().int() }),
  pending: tally,
  bytes_per_second: z.number().nullable(),
  seconds_left: z.number().int().nullable(),
  run_seconds: z.number(),
});

const failureSchema = z.object({
  file_id: z.string(),
  name: z.string().nullable(),
  size: z.number().int(),
  code: z.string(),
  message: z.string(),
  attempts: z.number().int(),
  finished_at: timestamp.nullable(),
});

export const moveJobSchema = z.object({
  id: z.string(),
  state: z.enum(MOVE_JOB_STATES),
  source: z.object({
    kind: z.enum(MOVE_SOURCES),
    /** Null once the policy or node is deleted; the name stays. */
    id: z.string().nullable(),
    name: z.string(),
  }),
  target: z.object({ policy_id: z.string().nullable(), name: z.string() }),
  scope: z.object({ kind: z.enum(MOVE_SCOPES), id: z.string().nullable() }),
  progress: progressSchema,
  /** Bytes the primary carried itself (relayed copies); zero where the target pulled. */
  bytes_relayed: z.number().int(),
  failures: z.array(failureSchema).optional(),
  created_by: z.string().nullable(),
  created_at: timestamp,
  updated_at: timestamp,
  finished_at: timestamp.nullable(),
});

export const moveJobListSchema = z.object({ jobs: z.array(moveJobSchema) });

export function toMoveJobOut(
  job: typeof moveJobs.$inferSelect,
  progress: MoveProgress,
  failures?: MoveFailure[],
): z.input<typeof moveJobSchema> {
  return {
    id: job.id,
    state: job.state,
    source: {
      kind: job.sourceKind,
      id: job.sourceKind === "policy" ? job.sourcePolicyId : job.sourceNodeId,
      name: job.sourceName,
    },
    target: { policy_id: job.targetPolicyId, name: job.targetName },
    scope: { kind: job.scopeKind, id: job.scopeId },
    progress: {
      total: progress.total,
      done: progress.done,
      failed: progress.failed,
      skipped: progress.skipped,
      cancelled: progress.cancelled,
      waiting: progress.waiting,
      copying: { ...progress.copying, bytes_done: progress.copyingBytesDone },
      pending: progress.pending,
      bytes_per_second: progress.bytesPerSecond,
      seconds_left: progress.secondsLeft,
      run_seconds: progress.runMs / 1000,
    },
    bytes_relayed: job.bytesRelayed,
    failures: failures?.map((f) => ({
      file_id: f.fileId,
      name: f.name,
      size: f.size,
      code: f.code,
      message: f.message,
      attempts: f.attempts,
      finished_at: iso(f.finishedAt),
    })),
    created_by: job.createdBy,
    created_at: iso(job.createdAt),
    updated_at: iso(job.updatedAt),
    finished_at: iso(job.finishedAt),
  };
}
