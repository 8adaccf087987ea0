// Owns talking to an isolate inside workerd through its V8 inspector (Miniflare's inspectorPort): one
// DevTools-protocol session on a target (a worker's is `core:user:<worker>`, workerTarget), calls
// answered by id.
// workerd answers some calls by echoing the call itself (its id and method, no result).

interface Message {
  id?: number;
  method?: string;
  result?: Record<string, unknown>;
  error?: { message: string };
}

export interface InspectorSession {
  /** Sends a call and waits for its answer's result (empty when workerd only echoes it). */
  call(method: string, params?: object, timeoutMs?: number): Promise<Record<string, unknown>>;
  close(): void;
}

/** The inspector target of a worker, by its name in Miniflare. */
export const workerTarget = (worker: string) => `core:user:${worker}`;

/** The names of every target (isolate) the inspector on `inspectorPort` lists. */
export async function inspectorTargets(inspectorPort: number): Promise<string[]> {
  const listed = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json()) as {
    webSocketDebuggerUrl: string;
  }[];
  return listed.map(({ webSocketDebuggerUrl }) => webSocketDebuggerUrl.split("/").pop() ?? "");
}

export async function inspect(inspectorPort: number, target: string): Promise<InspectorSession> {
  const socket = new WebSocket(`ws://127.0.0.1:${inspectorPort}/${target}`);
  await new Promise<void>((opened, failed) => {
    socket.onopen = () => opened();
    socket.onerror = () =>
      failed(new Error(`the inspector's ${target} on port ${inspectorPort} did not answer`));
  });
  const waiting = new Map<number, (message: Message) => void>();
  socket.onmessage = (event) => {
    const message = JSON.parse(String(event.data)) as Message;
    // Events (no id) are not listened to.
    if (message.id !== undefined) waiting.get(message.id)?.(message);
  };
  let next = 0;
  return {
    call: (method, params = {}, timeoutMs = 60_000) =>
      new Promise((answered, failed) => {
        const id = ++next;
        const timer = setTimeout(
          () => failed(new Error(`${method} got no answer in ${timeoutMs / 1000} s`)),
          timeoutMs,
        );
        waiting.set(id, (message) => {
          clearTimeout(timer);
          waiting.delete(id);
          if (message.error) failed(new Error(`${method}: ${message.error.message}`));
          else answered(message.result ?? {});
        });
        socket.send(JSON.stringify({ id, method, params }));
      }),
    close: () => socket.close(),
  };
}
