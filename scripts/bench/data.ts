// Owns the benchmark's payload: a deterministic stream of any size generated on the fly (never held in
// memory), so every transfer of one run carries the same bytes and can be checked by SHA-256. The
// content is one random 8 MiB block whose first 16 bytes are stamped with the block number, so no
// two blocks are equal; producing it costs a memcpy per MiB.
import { createHash, randomBytes } from "node:crypto";

export const BLOCK = 8 * 1024 * 1024;
const CHUNK = 1024 * 1024;

export class Payload {
  readonly size: number;
  readonly #base: Buffer;

  constructor(size: number) {
    this.size = size;
    this.#base = randomBytes(BLOCK);
  }

  /** Bytes [offset, offset + length) as 1 MiB chunks, each a fresh copy. */
  *chunks(offset: number, length: number): Generator<Uint8Array<ArrayBuffer>> {
    let at = offset;
    const end = offset + length;
    while (at < end) {
      const block = Math.floor(at / BLOCK);
      const inBlock = at % BLOCK;
      const n = Math.min(CHUNK - (inBlock % CHUNK), end - at, BLOCK - inBlock);
      const out = new Uint8Array(n);
      out.set(this.#base.subarray(inBlock, inBlock + n));
      if (inBlock < 16) {
        const stamp = Buffer.alloc(16);
        stamp.writeBigUInt64BE(BigInt(block), 0);
        stamp.writeBigUInt64BE(BigInt(this.size), 8);
        out.set(stamp.subarray(inBlock, Math.min(16, inBlock + n)), 0);
      }
      yield out;
      at += n;
    }
  }

  stream(offset = 0, length = this.size - offset): ReadableStream<Uint8Array<ArrayBuffer>> {
    const source = this.chunks(offset, length);
    return new ReadableStream({
      pull(controller) {
        const next = source.next();
        if (next.done) controller.close();
        else controller.enqueue(next.value);
      },
    });
  }

  sha256(offset = 0, length = this.size - offset): string {
    const hash = createHash("sha256");
    for (const chunk of this.chunks(offset, length)) hash.update(chunk);
    return hash.digest("hex");
  }
}

/** Reads a body to its end, hashing it; returns byte count and SHA-256. */
export async function drain(
  body: ReadableStream<Uint8Array> | null,
): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash("sha256");
  let bytes = 0;
  if (body) {
    for await (const chunk of body) {
      hash.update(chunk);
      bytes += chunk.byteLength;
    }
  }
  return { bytes, sha256: hash.digest("hex") };
}
