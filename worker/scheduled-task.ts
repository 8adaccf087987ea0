// Owns the shape of a scheduled (cron) task: a name for the logs and a run over the same explicit
// services a request gets. Each domain declares its tasks; worker/scheduled.ts runs them all.
import type { Services } from "./services.ts";

export interface ScheduledTask {
  name: string;
  run: (services: Services) => Promise<void>;
}
