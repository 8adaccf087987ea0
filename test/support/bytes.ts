// Owns test data: deterministic bytes (so a failure reproduces), streams that hand them over in
// pieces, and their SHA-256 as the API spells it.
import { createHash } from "node:crypto";

/** Deterministic pseudo-random bytes; another seed gives other bytes. */
export function bytes(size: number, seed = 1): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    out[i] = x >>> 16;
  }
  return out;
}

/** UTF-8 bytes of a text (small readable file contents). */
export const utf8 = (text: string): Uint8Array<ArrayBuffer> => new TextEncoder().encode(text);

/** A stream yielding `data` in `chunk`-sized pieces, never as one buffer. */
export function streamOf(data: Uint8Array, chunk = 64 * 1024): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (offset >= data.byteLength) return controller.close();
      controller.enqueue(data.slice(offset, offset + chunk));
      offset += chunk;
    },
  });
}

export async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Lower-case hex SHA-256, as files and objects carry it. */
export const sha256 = (data: Uint8Array): string => createHash("sha256").update(data).digest("hex");
