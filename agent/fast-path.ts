// Owns the hand-off of bulk bytes between the agent's Fetch function and its Node glue (server.ts). The
// glue lends each request the Node stream its body arrives on, and a file response names the open file,
// which the glue sends with two reused buffers. Through Web streams every 64 KiB chunk passed several
// layers and was a fresh allocation, and that, not the disk or the socket, was the limit. The Fetch
// shape stays: without the glue (tests calling the function in process) both are plain Web streams.
// The two maps are keyed by live requests and responses only, so they hold nothing past a request.
import type { FileHandle } from "node:fs/promises";
import type { ServerResponse } from "node:http";
import type { Readable } from "node:stream";
import { fileChunks, READ_BYTES } from "./store/file-io.ts";

const nodeBodies = new WeakMap<Request, Readable>();
const fileBodies = new WeakMap<Response, FileBody>();

export interface FileBody {
  file: FileHandle;
  start: number;
  length: number;
  /** Called once the body is sent, abandoned or failed. */
  release(): Promise<void>;
  /** Counts bytes handed to the client. */
  sent(bytes: number): void;
}

/** The glue: this request's body is `body` (read it instead of request.body). */
export function lendNodeBody(request: Request, body: Readable): void {
  nodeBodies.set(request, body);
}

/** The request's body bytes, counted as they are read. */
export async function* requestBytes(request: Request, received: (bytes: number) => void) {
  const node = nodeBodies.get(request);
  // Not destroyed when a check stops reading early, so the refusal still reaches the client.
  const source: AsyncIterable<Uint8Array> | null = node
    ? node.iterator({ destroyOnReturn: false })
    : request.body;
  if (!source) return;
  for await (const chunk of source) {
    received(chunk.byteLength);
    yield chunk;
  }
}

/** A response whose body is a range of an open file; the glue sends it from the file itself. */
export function fileResponse(body: FileBody, init: ResponseInit): Response {
  let chunks: AsyncGenerator<Uint8Array> | null = null;
  let released = false;
  const release = async () => {
    if (released) return;
    released = true;
    await body.release();
  };
  // highWaterMark 0: nothing is read before a consumer asks, so the glue can take the file instead.
  const stream = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          chunks ??= fileChunks(body.file, body.start, body.length);
          const next = await chunks.next();
          if (next.done) {
            await release();
            controller.close();
            return;
          }
          body.sent(next.value.byteLength);
          controller.enqueue(next.value);
        } catch (error) {
          await release();
          controller.error(error);
        }
      },
      async cancel() {
        await chunks?.return(undefined);
        await release();
      },
    },
    { highWaterMark: 0 },
  );
  const response = new Response(stream, init);
  fileBodies.set(response, { ...body, release });
  return response;
}

/** The file behind a response made by fileResponse whose Web body nobody has read; taken once. */
export function takeFileBody(response: Response): FileBody | null {
  const body = fileBodies.get(response);
  if (!body || response.bodyUsed || response.body?.locked) return null;
  fileBodies.delete(response);
  return body;
}

/**
 * Writes the response's status and headers, then the file range, reading the next buffer while the
 * other is written; a buffer is read into again only once the socket has taken it.
 */
export async function sendFile(outgoing: ServerResponse, response: Response, body: FileBody): Promise<void> {
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    headers[name] = value;
  });
  outgoing.writeHead(response.status, headers);
  const size = Math.min(READ_BYTES, body.length);
  const free: Buffer<ArrayBuffer>[] = [Buffer.allocUnsafe(size), Buffer.allocUnsafe(size)];
  const waiting: ((buffer: Buffer<ArrayBuffer> | null) => void)[] = [];
  let gone = false;
  const giveBack = (buffer: Buffer<ArrayBuffer> | null) => {
    const next = waiting.shift();
    if (next) next(buffer);
    else if (buffer) free.push(buffer);
  };
  const onClose = () => {
    gone = true;
    for (const next of waiting.splice(0)) next(null);
  };
  outgoing.once("close", onClose);
  try {
    const end = body.start + body.length;
    for (let at = body.start; at < end && !gone; ) {
      const buffer =
        free.pop() ?? (await new Promise<Buffer<ArrayBuffer> | null>((resolve) => waiting.push(resolve)));
      if (!buffer || gone) break;
      const { bytesRead } = await body.file.read(buffer, 0, Math.min(size, end - at), at);
      if (bytesRead === 0) throw new Error("the file ended before its length");
      at += bytesRead;
      outgoing.write(buffer.subarray(0, bytesRead), (error) => {
        if (!error) body.sent(bytesRead);
        giveBack(error ? null : buffer);
        if (error) onClose();
      });
    }
    if (!gone) outgoing.end();
  } catch (error) {
    outgoing.destroy(error instanceof Error ? error : new Error(String(error)));
  } finally {
    outgoing.off("close", onClose);
    await body.release();
  }
}
