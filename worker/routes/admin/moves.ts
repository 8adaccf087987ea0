// Admin -> Move files: the dry run, starting a job (a policy, or a follower node to drain, onto a
// target policy), the jobs with their progress, and pause, resume, cancel and retry of failed files.
// What a move may do and how it runs is the domain's (worker/moves/).
import { z } from "zod";
import {
  moveJobListSchema,
  moveJobSchema,
  movePlanSchema,
  moveRequestBody,
  toMoveJobOut,
  toMovePlanOut,
  toMoveRequest,
} from "../../api/moves.ts";
import { idParams } from "../../api/wire.ts";
import { defineRoute } from "../../http/route.ts";
import {
  cancelMoveJob,
  createMoveJob,
  dryRun,
  kick,
  listMoveJobs,
  loadMoveJob,
  type MoveJobRow,
  pauseMoveJob,
  resumeMoveJob,
  retryFailedMoves,
} from "../../moves/jobs.ts";
import { jobFailures, jobProgress } from "../../moves/progress.ts";
import type { Services } from "../../services.ts";

const TAG = "moves";

async function jobOut(services: Services, job: MoveJobRow) {
  const [progress, failures] = await Promise.all([
    jobProgress(services, [job]),
    jobFailures(services, job.id),
  ]);
  return toMoveJobOut(job, progress.get(job.id)!, failures);
}

const actions = {
  pause: { run: pauseMoveJob, summary: "Pause a move job (no new file starts; copies under way finish)" },
  resume: { run: resumeMoveJob, summary: "Resume a paused move job" },
  cancel: {
    run: cancelMoveJob,
    summary: "Cancel a move job (files not yet switched stay where they are; copies under way are discarded)",
  },
  retry: { run: retryFailedMoves, summary: "Try a move job's failed files again" },
} as const;

export const moveRoutes = [
  defineRoute({
    method: "POST",
    path: "/api/v1/admin/moves/dry-run",
    access: "admin",
    summary: "Dry run of a move: files, bytes, what cannot move and why, the target's free space, the path",
    tag: TAG,
    body: moveRequestBody,
    response: movePlanSchema,
    handler: async ({ services, body }) => toMovePlanOut(await dryRun(services, toMoveRequest(body))),
  }),

  defineRoute({
    method: "POST",
    path: "/api/v1/admin/moves",
    access: "admin",
    summary: "Start a move job (refused when a file of it is already moving, or the target cannot take it)",
    tag: TAG,
    body: moveRequestBody,
    response: moveJobSchema,
    status: 201,
    handler: async ({ services, body, user }) => {
      const job = await createMoveJob(services, toMoveRequest(body), user.id);
      kick(services, job.id);
      return jobOut(services, job);
    },
  }),

  defineRoute({
    method: "GET",
    path: "/api/v1/admin/moves",
    access: "admin",
    summary: "List move jobs with their progress (newest first)",
    tag: TAG,
    response: moveJobListSchema,
    handler: async ({ services }) => {
      const jobs = await listMoveJobs(services);
      const progress = await jobProgress(services, jobs);
      return { jobs: jobs.map((job) => toMoveJobOut(job, progress.get(job.id)!)) };
    },
  }),

  defineRoute({
    method: "GET",
    path: "/api/v1/admin/moves/:id",
    access: "admin",
    summary: "A move job: progress (files and bytes done, rate, time left) and failed files with reasons",
    tag: TAG,
    params: idParams,
    response: moveJobSchema,
    handler: async ({ services, params }) => jobOut(services, await loadMoveJob(services, params.id)),
  }),

  ...Object.entries(actions).map(([action, { run, summary }]) =>
    defineRoute({
      method: "POST",
      path: `/api/v1/admin/moves/:id/${action}`,
      access: "admin",
      summary,
      tag: TAG,
      params: idParams,
      body: z.object({}).strict().optional(),
      response: moveJobSchema,
      handler: async ({ services, params }) =>
        jobOut(services, await run(services, await loadMoveJob(services, params.id))),
    }),
  ),
];
