// Owns cutting one request body into the parts of an upload as it streams: each part is a stream of
// exactly its size, read from the body in pieces of about 1 MiB (workerd's readAtLeast on a request
// body), so a body of any size passes through in constant memory and no part is ever held whole.
import { chunkReader, METER_CHUNK } from "../storage/streams.ts";

export interface PartSource {
  /** The next `size` bytes of the body as a stream; it ends early if the body does. */
  take(size: number): ReadableStream<Uint8Array>;
  /** True when nothing is left after the parts taken (a longer body than declared is false). */
  finished(): Promise<boolean>;
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
    take(size) {
      let left = size;
      return new ReadableStream<Uint8Array>(
        {
          async pull(controller) {
            if (left === 0) return controller.close();
            const chunk = await next(left);
            if (chunk === null) return controller.close();
            left -= chunk.byteLength;
            controller.enqueue(chunk);
            if (left === 0) controller.close();
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
    cancel: (reason) => reader.cancel(reason),
  };
}
