// Owns reading a worker's JavaScript heap inside workerd through its V8 inspector
// (scripts/stack/inspector.ts): a heap snapshot, which makes V8 collect everything unreachable first,
// then the heap's usage, so the figure is what the worker keeps alive, not garbage waiting for a
// collection. The snapshot can be written out and opened in Chrome DevTools (Memory, Load).
import { writeFile } from "node:fs/promises";
import { inspect } from "../stack/inspector.ts";

export interface HeapReading {
  /** JavaScript objects alive after the collection. */
  usedMB: number;
  /** ArrayBuffer backing stores alive (bodies, buffers), kept outside the V8 heap. */
  buffersMB: number;
}

/**
 * The heap of `worker` (its name in Miniflare) after a full collection. With `snapshotFile`, the
 * snapshot taken for it is written there as a .heapsnapshot.
 */
export async function retainedHeap(
  inspectorPort: number,
  worker: string,
  snapshotFile?: string,
): Promise<HeapReading> {
  const session = await inspect(inspectorPort, worker);
  const chunks: string[] = [];
  session.on("HeapProfiler.addHeapSnapshotChunk", (params) => chunks.push(String(params.chunk ?? "")));
  try {
    await session.call("HeapProfiler.takeHeapSnapshot", { reportProgress: false });
    const usage = (await session.call("Runtime.getHeapUsage")) as {
      usedSize?: number;
      backingStorageSize?: number;
    };
    if (snapshotFile) await writeFile(snapshotFile, chunks.join(""));
    return {
      usedMB: (usage.usedSize ?? Number.NaN) / 1e6,
      buffersMB: (usage.backingStorageSize ?? Number.NaN) / 1e6,
    };
  } finally {
    session.close();
  }
}

/**
 * What V8 holds for every isolate workerd runs (the workers and Miniflare's own, by inspector target),
 * garbage included: the V8 share of workerd's resident memory, the rest being workerd's own.
 */
export async function isolateHeaps(
  inspectorPort: number,
): Promise<{ name: string; usedMB: number; totalMB: number }[]> {
  const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json()) as {
    webSocketDebuggerUrl: string;
  }[];
  const readings = [];
  for (const { webSocketDebuggerUrl: url } of targets) {
    const usage = await new Promise<{ usedSize?: number; totalSize?: number } | undefined>((answered) => {
      const socket = new WebSocket(url);
      const timer = setTimeout(() => {
        socket.close();
        answered(undefined);
      }, 5000);
      socket.onopen = () => socket.send(JSON.stringify({ id: 1, method: "Runtime.getHeapUsage" }));
      socket.onmessage = (event) => {
        const message = JSON.parse(String(event.data)) as {
          id?: number;
          result?: { usedSize?: number; totalSize?: number };
        };
        if (message.id !== 1 || !message.result) return;
        clearTimeout(timer);
        socket.close();
        answered(message.result);
      };
      socket.onerror = () => answered(undefined);
    });
    if (usage) {
      readings.push({
        name: url.split("/").pop() ?? url,
        usedMB: (usage.usedSize ?? 0) / 1e6,
        totalMB: (usage.totalSize ?? 0) / 1e6,
      });
    }
  }
  return readings;
}
