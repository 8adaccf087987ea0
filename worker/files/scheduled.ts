// Owns the files' scheduled work: purging trash older than the retention (TRASH_RETENTION_DAYS,
// default 30) and retrying object deletions that a purge could not finish (storage unreachable).
import type { ScheduledTask } from "../scheduled-task.ts";
import { deletePendingObjects } from "./purge.ts";
import { DEFAULT_TRASH_RETENTION_DAYS, expireTrash } from "./trash.ts";

export const fileTasks: ScheduledTask[] = [
  {
    name: "expire_trash",
    run: async (services) => {
      const days = services.env.TRASH_RETENTION_DAYS ?? DEFAULT_TRASH_RETENTION_DAYS;
      const purged = await expireTrash(services, days);
      if (purged > 0) services.log.info("expired trash purged", { count: purged });
    },
  },
  {
    name: "purge_pending_objects",
    run: async (services) => {
      const { deleted, failed } = await deletePendingObjects(services);
      if (deleted + failed > 0) services.log.info("pending object deletions retried", { deleted, failed });
    },
  },
];
