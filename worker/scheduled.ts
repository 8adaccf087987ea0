// Owns the scheduled (cron) run of the primary: every domain's tasks in one list, each run with the
// same explicit services as a request and independently: one failing task is logged and does not
// stop the others.
import { accountTasks } from "./accounts/scheduled.ts";
import { fileTasks } from "./files/scheduled.ts";
import { followerTasks } from "./followers/scheduled.ts";
import { describeError } from "./logger.ts";
import { moveTasks } from "./moves/scheduled.ts";
import type { ScheduledTask } from "./scheduled-task.ts";
import type { Services } from "./services.ts";
import { expireUploads } from "./uploads/expiry.ts";
import { expireLocks } from "./webdav/locks.ts";

const tasks: ScheduledTask[] = [
  ...accountTasks,
  ...followerTasks,
  { name: "expire_uploads", run: expireUploads },
  { name: "expire_dav_locks", run: expireLocks },
  ...moveTasks,
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
