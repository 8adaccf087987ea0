// Owns the scheduled (cron) work of the primary. Each task gets the same explicit services as a request
// and runs independently: one failing task is logged and does not stop the others.
// Colleagues add their tasks (follower probes, ingress re-push) to the `tasks` list below.
import { lt } from "drizzle-orm";
import { deleteExpiredSessions } from "./accounts/sessions.ts";
import { loginAttempts } from "./db/schema.ts";
import { fileTasks } from "./files/scheduled.ts";
import { followerTasks } from "./followers/scheduled.ts";
import { describeError } from "./logger.ts";
import type { Services } from "./services.ts";
import { expireUploads } from "./uploads/expiry.ts";

export interface ScheduledTask {
  name: string;
  run: (services: Services) => Promise<void>;
}

const tasks: ScheduledTask[] = [
  {
    name: "expire_sessions",
    run: async (services) => {
      const removed = await deleteExpiredSessions(services.db, services.now());
      if (removed > 0) services.log.info("expired sessions removed", { count: removed });
    },
  },
  {
    name: "prune_login_attempts",
    run: async (services) => {
      const dayAgo = new Date(services.now().getTime() - 24 * 3600 * 1000);
      await services.db.delete(loginAttempts).where(lt(loginAttempts.windowStartedAt, dayAgo));
    },
  },
  ...followerTasks,
  { name: "expire_uploads", run: expireUploads },
  ...fileTasks,
];

/** Runs every scheduled task; returns the names of those that failed (already logged). */
export async function runScheduledTasks(services: Services): Promise<string[]> {
  const failed: string[] = [];
  for (const task of tasks) {
    try {
      await task.run(services);
    } catch (error) {
      failed.push(task.name);
      services.log.error("scheduled task failed", { task: task.name, error: describeError(error) });
    }
  }
  return failed;
}
