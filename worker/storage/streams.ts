// Owns the streaming guards every driver shares: a meter that counts and hashes bytes as they pass
// (refusing a body longer or shorter than declared), range resolution per RFC 9110, and object key rules.
import { AppError } from "../../shared/errors.ts";
import { keyProblem } from "../../shared/protocol/keys.ts";
import { createHasher } from "./sha256.ts";
import type { ByteRange, ResolvedRange } from "./types.ts";

export interface Metered {
  stream: ReadableStream<Uint8Array>;
  /** Resolves with the digest once the last byte passed; rejects if the length or digest was wrong. */
  done: Promise<{ size: number; sha256: string }>;
}

/**
 * Passes `source` through while hashing it. The newest chunk is held back until the next one arrives
 * or the source ends, so a body longer than `size`, shorter than `size`, or not matching `sha256`
 * errors the output before its last byte leaves: a backend never receives a complete wrong body.
 */
export function meter(source: ReadableStream<Uint8Array>, size: number, sha256?: string): Metered {
  const hash = createHasher();
  let seen = 0;
  let held: Uint8Array | null = null;
  let settle!: { resolve: (v: { size: number; sha256: string }) => void; reject: (e: unknown) => void };
  const done = new Promise<{ size: number; sha256: string }>((resolve, reject) => {
    settle = { resolve, reject };
  });
  done.catch(() => {});
  const fail = (controller: TransformStreamDefaultController<Uint8Array>, error: AppError) => {
    settle.reject(error);
    controller.error(error);
  };
  const lengthError = (message: string) =>
    new AppError("content_length_mismatch", message, { details: { declared: size } });
  const transform = new TransformStream<Uint8Array, Uint8Array>({
    async transform(chunk, controller) {
      seen += chunk.byteLength;
      if (seen > size) return fail(controller, lengthError("The body is longer than its declared length."));
      await hash.update(chunk);
      if (held) controller.enqueue(held);
      held = chunk;
    },
    async flush(controller) {
      if (seen !== size)
        return fail(controller, lengthError("The body is shorter than its declared length."));
      const digest = await hash.digestHex();
      if (sha256 !== undefined && sha256 !== digest) return fail(controller, digestMismatch());
      if (held) controller.enqueue(held);
      settle.resolve({ size: seen, sha256: digest });
    },
  });
  source.pipeTo(transform.writable).catch((error: unknown) => settle.reject(error));
  return { stream: transform.readable, done };
}

/** Refuses an empty body whose declared digest is not the empty digest before any request is made. */
export function assertEmptyDigest(size: number, sha256: string | undefined): void {
  if (size === 0 && sha256 !== undefined && sha256 !== EMPTY_SHA256) throw digestMismatch();
}

const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

export function digestMismatch(): AppError {
  return new AppError("content_digest_mismatch", "The body does not match its declared SHA-256.");
}

/** Resolves a requested range against the object size, or throws 416 with `Content-Range: bytes *\/size`. */
export function resolveRange(range: ByteRange, size: number): ResolvedRange {
  let offset: number;
  let length: number;
  if ("suffix" in range) {
    if (!(range.suffix > 0) || size === 0) throw unsatisfiable(size);
    length = Math.min(range.suffix, size);
    offset = size - length;
  } else {
    if (range.offset < 0 || range.offset >= size) throw unsatisfiable(size);
    if (range.length !== undefined && !(range.length > 0)) throw unsatisfiable(size);
    offset = range.offset;
    length = Math.min(range.length ?? size - offset, size - offset);
  }
  return { offset, length };
}

function unsatisfiable(size: number): AppError {
  return new AppError("range_not_satisfiable", "The requested range is not satisfiable.", {
    headers: { "content-range": `bytes */${size}` },
    details: { size },
  });
}

/**
 * Every driver accepts exactly the keys protocol v2 accepts (shared/protocol/keys.ts): ASCII segments,
 * no empty, `.` or `..` segment. One rule for all backends, so a policy can move between drivers.
 */
export function assertObjectKey(key: string): void {
  const problem = keyProblem(key);
  if (problem) throw new AppError("object_key_invalid", `The object key ${problem}.`);
}

/** Joins a policy's key prefix and an object key; the prefix obeys the key rules or is empty. */
export function prefixedKey(prefix: string, key: string): string {
  assertObjectKey(key);
  const trimmed = prefix.replace(/^\/+|\/+$/g, "");
  if (trimmed === "") return key;
  assertObjectKey(trimmed);
  return `${trimmed}/${key}`;
}

interface FixedLengthStreamCtor {
  new (length: number): TransformStream<Uint8Array, Uint8Array>;
}

/**
 * In workerd a streamed request body is sent chunked unless it comes from a FixedLengthStream; S3 and
 * the follower need Content-Length. Node's fetch honours the explicit header, so it passes through there.
 */
export function withKnownLength(
  stream: ReadableStream<Uint8Array>,
  size: number,
): ReadableStream<Uint8Array> {
  const Fixed = (globalThis as { FixedLengthStream?: FixedLengthStreamCtor }).FixedLengthStream;
  if (!Fixed) return stream;
  const fixed = new Fixed(size);
  stream.pipeTo(fixed.writable).catch(() => {});
  return fixed.readable;
}
