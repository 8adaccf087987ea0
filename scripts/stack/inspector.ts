// Owns talking to a worker inside workerd through its V8 inspector (Miniflare's inspectorPort): one
// DevTools-protocol session on `core:user:<worker>`, calls answered by id, events by method.
// workerd answers some calls by echoing the call itself (its id and method, no result).

interface Message {
  id?: number;
  method?: string;
  params?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: { message: string };
}

export interface InspectorSession {
  /** Sends a call and waits up to 60 s for its answer's result (empty when workerd only echoes it). */
  call(method: string, params?: object): Promise<Record<string, unknown>>;
  /** Every event `method` arrives at `listener`. */
  on(method: string, listener: (params: Record<string, unknown>) => void): void;
  close(): void;
}

export async function inspect(inspectorPort: number, worker: string): Promise<InspectorSession> {
  const socket = new WebSocket(`ws://127.0.0.1:${inspectorPort}/core:user:${worker}`);
  await new Promise<void>((opened, failed) => {
    socket.onopen = () => opened();
    socket.onerror = () =>
      failed(new Error(`the inspector of ${worker} on port ${inspectorPort} did not answer`));
  });
  const waiting = new Map<number, (message: Message) => void>();
  const listeners = new Map<string, (params: Record<string, unknown>) => void>();
  socket.onmessage = (event) => {
    const message = JSON.parse(String(event.data)) as Message;
    if (message.id !== undefined) waiting.get(message.id)?.(message);
    else if (message.method) listeners.get(message.method)?.(message.params ?? {});
  };
  let next = 0;
  return {
    call: (method, params = {}) =>
      new Promise((answered, failed) => {
        const id = ++next;
        const timer = setTimeout(() => failed(new Error(`${method} got no answer in 60 s`)), 60_000);
        waiting.set(id, (message) => {
          clearTimeout(timer);
          waiting.delete(id);
          if (message.error) failed(new Error(`${method}: ${message.error.message}`));
          else answered(message.result ?? {});
        });
        socket.send(JSON.stringify({ id, method, params }));
      }),
    on: (method, listener) => void listeners.set(method, listener),
    close: () => socket.close(),
  };
}
