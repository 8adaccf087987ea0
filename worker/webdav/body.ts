// Owns cutting one request body into the parts of an upload as it streams: each part is a stream of
// exactly its size, read from the body in pieces of about 1 MiB (workerd's readAtLeast on a request
// body), so a body of any size passes through in constant memory and no part is ever held whole.
import { chunkReader, METER_CHUNK } from "../storage/streams.ts";

export interface PartSource {
  /**
   * The next `size` bytes of the body as a stream; it ends early if the body does. `onEnd` is called
   * once its bytes are all read from the body (the next part may then be taken).
   */
  take(size: number, onEnd?: () => void): ReadableStream<Uint8Array>;
  /** True when nothing is left after the parts taken (a longer body than declared is false). */
  finished(): Promise<boolean>;
  /** True when more bytes follow, without taking them. */
  more(): Promise<boolean>;
  cancel(reason?: unknown): Promise<void>;
}

export function partSource(body: ReadableStream<Uint8Array>): PartSource {
  const reader = chunkReader(body);
  let pending: Uint8Array | null = null;

  async function next(max: number): Promise<Uint8Array | null> {
    let chunk = pending;
    pending = null;
    if (!chunk) chunk = await reader.read(Math.min(max, METER_CHUNK));
    if (chunk === null || chunk.byteLength <= max) return chunk;
    // The rest belongs to the next part; copied, since what is handed on may be transferred.
    pending = chunk.slice(max);
    return chunk.subarray(0, max);
  }

  return {
    take(size, onEnd) {
      let left = size;
      const end = (controller: ReadableStreamDefaultController<Uint8Array>) => {
        controller.close();
        onEnd?.();
      };
      return new ReadableStream<Uint8Array>(
        {
          async pull(controller) {
            if (left === 0) return end(controller);
            const chunk = await next(left);
            if (chunk === null) return end(controller);
            left -= chunk.byteLength;
            controller.enqueue(chunk);
            if (left === 0) end(controller);
          },
        },
        { highWaterMark: 0 },
      );
    },
    async finished() {
      const extra = await next(1);
      if (extra === null) return true;
      await reader.cancel(undefined);
      return false;
    },
    async more() {
      if (pending && pending.byteLength > 0) return true;
      pending = await reader.read(1);
      return pending !== null;
    },
    cancel: (reason) => reader.cancel(reason),
  };
}

/** Everything `stream` yields, in one array (for a body or a part known to be small). */
export async function collect(stream: ReadableStream<Uint8Array>): Promise<Uint8Array<ArrayBuffer>> {
  const pieces: Uint8Array[] = [];
  let total = 0;
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    pieces.push(value);
    total += value.byteLength;
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const piece of pieces) {
    out.set(piece, offset);
    offset += piece.byteLength;
  }
  return out;
}

/** `head`, then whatever `rest` has left. */
export function prefixed(head: Uint8Array, rest: PartSource): ReadableStream<Uint8Array> {
  let sentHead = head.byteLength === 0;
  const tail = rest.take(Number.MAX_SAFE_INTEGER).getReader();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (!sentHead) {
          sentHead = true;
          return controller.enqueue(head);
        }
        const { done, value } = await tail.read();
        if (done) controller.close();
        else controller.enqueue(value);
      },
      cancel: (reason) => tail.cancel(reason),
    },
    { highWaterMark: 0 },
  );
}
