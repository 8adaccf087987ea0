// Owns the moves' scheduled work: each cron run works through the running move jobs for a bounded
// time, so a job of any size advances run by run and a restart of anything only delays it (all its
// state is in the database). A cron invocation may run for minutes; the budget stays under the
// five-minute trigger interval so runs rarely overlap, and a job's lease keeps them apart when they do.
import type { ScheduledTask } from "../scheduled-task.ts";
import { runMoves } from "./runner.ts";

export const SCHEDULED_RUN_BUDGET_MS = 4 * 60 * 1000;

export const moveTasks: ScheduledTask[] = [
  {
    name: "run_moves",
    run: async (services) => {
      const report = await runMoves(services, { budgetMs: SCHEDULED_RUN_BUDGET_MS });
      if (report.jobs > 0) services.log.info("move jobs advanced", { ...report });
    },
  },
];
