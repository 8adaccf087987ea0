// Owns reading a worker's JavaScript heap inside workerd through its V8 inspector
// (scripts/stack/inspector.ts): a heap snapshot, which makes V8 collect everything unreachable first,
// then the heap's usage, so the figure is what the worker keeps alive, not garbage waiting for a
// collection.
import { inspect, inspectorTargets, workerTarget } from "../stack/inspector.ts";

export interface HeapReading {
  /** JavaScript objects alive after the collection. */
  usedMB: number;
  /** ArrayBuffer backing stores alive (bodies, buffers), kept outside the V8 heap. */
  buffersMB: number;
}

/**
 * The heap of `worker` (its name in Miniflare) after a full collection. The snapshot's own chunks
 * (HeapProfiler.addHeapSnapshotChunk events) are not kept.
 */
export async function retainedHeap(inspectorPort: number, worker: string): Promise<HeapReading> {
  const session = await inspect(inspectorPort, workerTarget(worker));
  try {
    await session.call("HeapProfiler.takeHeapSnapshot", { reportProgress: false });
    const usage = (await session.call("Runtime.getHeapUsage")) as {
      usedSize?: number;
      backingStorageSize?: number;
    };
    return {
      usedMB: (usage.usedSize ?? Number.NaN) / 1e6,
      buffersMB: (usage.backingStorageSize ?? Number.NaN) / 1e6,
    };
  } finally {
    session.close();
  }
}

/**
 * What V8 holds for all the isolates workerd runs (the workers and Miniflare's own, every inspector
 * target), garbage included: the V8 share of workerd's resident memory, the rest being workerd's own.
 * A target that does not answer within 5 s is left out.
 */
export async function isolateHeapsMB(inspectorPort: number): Promise<number> {
  let total = 0;
  for (const target of await inspectorTargets(inspectorPort)) {
    const session = await inspect(inspectorPort, target).catch(() => undefined);
    if (!session) continue;
    const usage = await session.call("Runtime.getHeapUsage", {}, 5000).catch(() => ({}));
    session.close();
    total += ((usage as { totalSize?: number }).totalSize ?? 0) / 1e6;
  }
  return total;
}
