// Owns who may write a multipart upload's parts right now, in memory (one agent process writes a
// target): the latest attempt of a part wins (an earlier one still in flight is stopped and waited
// for, so two attempts never write the same bytes at once), and completion or discard holds the whole
// upload (its writers stopped and waited for, new ones refused) until it releases it.
import { AppError } from "../shared/errors.ts";
import { superseded } from "./store/file-io.ts";

interface Activity {
  writers: Map<number, { controller: AbortController; settled: Promise<void> }>;
  held: boolean;
}

const busy = () => new AppError("conflict", "This multipart upload is being completed or discarded.");

export function createPartWriters() {
  const activity = new Map<string, Activity>();
  const activityOf = (id: string) => {
    let current = activity.get(id);
    if (!current) {
      current = { writers: new Map(), held: false };
      activity.set(id, current);
    }
    return current;
  };
  const forget = (id: string, current: Activity) => {
    if (!current.held && current.writers.size === 0) activity.delete(id);
  };

  return {
    /** Stops every writer of the upload and keeps new ones out until the returned release is called. */
    async hold(id: string): Promise<() => void> {
      const current = activityOf(id);
      if (current.held) throw busy();
      current.held = true;
      const writers = [...current.writers.values()];
      for (const writer of writers) writer.controller.abort();
      await Promise.all(writers.map((writer) => writer.settled));
      return () => {
        current.held = false;
        forget(id, current);
      };
    },

    /** Runs one attempt of part `n`; `run` must stop when its signal aborts. */
    async write<T>(id: string, n: number, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
      const current = activityOf(id);
      if (current.held) throw busy();
      const earlier = current.writers.get(n);
      const controller = new AbortController();
      let settle = () => {};
      const settled = new Promise<void>((resolve) => {
        settle = resolve;
      });
      current.writers.set(n, { controller, settled });
      try {
        if (earlier) {
          earlier.controller.abort();
          await earlier.settled;
        }
        if (current.held || controller.signal.aborted) throw superseded();
        return await run(controller.signal);
      } finally {
        if (current.writers.get(n)?.controller === controller) current.writers.delete(n);
        settle();
        forget(id, current);
      }
    },
  };
}
