// Owns reading a worker's JavaScript heap inside workerd through its V8 inspector (Miniflare's
// inspectorPort): a heap snapshot, which makes V8 collect everything unreachable first, then the heap's
// usage, so the figure is what the worker keeps alive, not garbage waiting for a collection. The
// snapshot itself can be written out and opened in Chrome DevTools (Memory, Load) to see what it holds.
import { writeFile } from "node:fs/promises";

export interface HeapReading {
  /** JavaScript objects alive after the collection. */
  usedMB: number;
  /** ArrayBuffer backing stores alive (bodies, buffers), kept outside the V8 heap. */
  buffersMB: number;
}

interface Message {
  id?: number;
  method?: string;
  params?: { chunk?: string };
  result?: { usedSize?: number; backingStorageSize?: number };
  error?: { message: string };
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
  const socket = new WebSocket(`ws://127.0.0.1:${inspectorPort}/core:user:${worker}`);
  await new Promise<void>((opened, failed) => {
    socket.onopen = () => opened();
    socket.onerror = () =>
      failed(new Error(`the inspector of ${worker} on port ${inspectorPort} did not answer`));
  });
  const chunks: string[] = [];
  const waiting = new Map<number, (message: Message) => void>();
  socket.onmessage = (event) => {
    const message = JSON.parse(String(event.data)) as Message;
    if (message.method === "HeapProfiler.addHeapSnapshotChunk") chunks.push(message.params?.chunk ?? "");
    // workerd echoes a request's own message (with its id and method) when it is done; an answer has
    // a result or an error instead.
    else if (message.id !== undefined) waiting.get(message.id)?.(message);
  };
  let next = 0;
  const call = (method: string, params: object = {}) =>
    new Promise<Message>((answered, failed) => {
      const id = ++next;
      const timer = setTimeout(() => failed(new Error(`${method} got no answer in 60 s`)), 60_000);
      waiting.set(id, (message) => {
        clearTimeout(timer);
        waiting.delete(id);
        if (message.error) failed(new Error(`${method}: ${message.error.message}`));
        else answered(message);
      });
      socket.send(JSON.stringify({ id, method, params }));
    });
  try {
    await call("HeapProfiler.takeHeapSnapshot", { reportProgress: false });
    const usage = (await call("Runtime.getHeapUsage")).result;
    if (snapshotFile) await writeFile(snapshotFile, chunks.join(""));
    return {
      usedMB: (usage?.usedSize ?? Number.NaN) / 1e6,
      buffersMB: (usage?.backingStorageSize ?? Number.NaN) / 1e6,
    };
  } finally {
    socket.close();
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
    const usage = await new Promise<Message["result"] | undefined>((answered) => {
      const socket = new WebSocket(url);
      const timer = setTimeout(() => {
        socket.close();
        answered(undefined);
      }, 5000);
      socket.onopen = () => socket.send(JSON.stringify({ id: 1, method: "Runtime.getHeapUsage" }));
      socket.onmessage = (event) => {
        const message = JSON.parse(String(event.data)) as Message & { result?: { totalSize?: number } };
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
        totalMB: ((usage as { totalSize?: number }).totalSize ?? 0) / 1e6,
      });
    }
  }
  return readings;
}
