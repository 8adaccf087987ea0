// Owns the accounts' scheduled work: removing expired sessions and API tokens, and login attempt
// counters older than a day (the rate limit's windows are far shorter).
import { lt } from "drizzle-orm";
import { loginAttempts } from "../db/schema.ts";
import type { ScheduledTask } from "../scheduled-task.ts";
import { deleteExpiredSessions } from "./sessions.ts";

export const accountTasks: ScheduledTask[] = [
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
];
