import type { Primary } from "./primary.ts";

/**
 * Runs the primary's scheduled handler, as the cron trigger would, while `pending` holds for the
 * latest reading, at most `runs` times; answers the last reading.
 */
export async function runScheduledWhile<T>(
  primary: Pick<Primary, "runScheduled">,
  first: T,
  pending: (reading: T) => boolean,
  read: () => Promise<T>,
  runs: number,
): Promise<T> {
  let reading = first;
  for (let run = 0; run < runs && pending(reading); run++) {
    await primary.runScheduled();
    reading = await read();
  }
  return reading;
}
