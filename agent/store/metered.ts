// Owns the streaming checks shared by every store: exact size (never more than declared is read) and
// SHA-256 computed while the bytes pass, compared in constant time with the declared digest.
import { createHash, timingSafeEqual } from "node:crypto";
import { AppError } from "../../shared/errors.ts";

export interface Meter {
  readonly body: AsyncGenerator<Uint8Array>;
  /** Hex SHA-256 of everything that passed; valid once the body is exhausted. */
  digest(): string;
}

export function metered(source: AsyncIterable<Uint8Array>, size: number): Meter {
  const hash = createHash("sha256");
  let digest: string | null = null;
  async function* body(): AsyncGenerator<Uint8Array> {
    let seen = 0;
    const iterator = source[Symbol.asyncIterator]();
    for (;;) {
      let next: IteratorResult<Uint8Array>;
      try {
        next = await iterator.next();
      } catch (cause) {
        // A source that refuses with its own code (parts read back from a store while composing) says
        // why; only a body that broke off (a client gone mid-upload) is a body short of its size.
        if (cause instanceof AppError) throw cause;
        throw new AppError("content_length_mismatch", "The body could not be read to its declared size.", {
          cause,
        });
      }
      if (next.done) break;
      const chunk = next.value;
      seen += chunk.byteLength;
      if (seen > size)
        throw new AppError("content_length_mismatch", "The body is longer than its declared size.");
      hash.update(chunk);
      yield chunk;
    }
    if (seen !== size)
      throw new AppError("content_length_mismatch", "The body is shorter than its declared size.");
    digest = hash.digest("hex");
  }
  return {
    body: body(),
    digest() {
      if (digest === null) throw new Error("digest read before the body was consumed");
      return digest;
    },
  };
}

export function checkDigest(actual: string, expected: string | undefined): void {
  if (expected === undefined) return;
  const a = Buffer.from(actual);
  const b = Buffer.from(expected);
  if (a.length !== b.length || !timingSafeEqual(a, b)) {
    throw new AppError("content_digest_mismatch", "The body does not match its declared SHA-256.");
  }
}
