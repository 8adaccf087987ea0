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

/** Bytes hashed and passed on per step: few large steps, not one async round trip per small chunk. */
export const METER_CHUNK = 1024 * 1024;

/**
 * Passes `source` through while hashing it. The newest chunk is held back until the next one arrives
 * or the source ends, so a body longer than `size`, shorter than `size`, or not matching `sha256`
 * errors the output before its last byte leaves: a backend never receives a complete wrong body.
 *
 * Bytes move in steps of about 1 MiB: workerd hands a request body over in 4 KiB chunks, and an
 * async transform plus a hash write per 4 KiB chunk capped relayed uploads near 25-35 MB/s.
 */
export function meter(source: ReadableStream<Uint8Array>, size: number, sha256?: string): Metered {
  const hash = createHasher();
  const next = chunkReader(source);
  let seen = 0;
  let held: Uint8Array | null = null;
  let ended = false;
  let settle!: { resolve: (v: { size: number; sha256: string }) => void; reject: (e: unknown) => void };
  const done = new Promise<{ size: number; sha256: string }>((resolve, reject) => {
    settle = { resolve, reject };
  });
  done.catch(() => {});
  const lengthError = (message: string) =>
    new AppError("content_length_mismatch", message, { details: { declared: size } });

  const stream = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          // Loops only until one chunk can be released (or the end is reached), keeping one held back.
          while (!ended) {
            const chunk = await next.read(Math.min(METER_CHUNK, Math.max(1, size - seen)));
            if (chunk === null) {
              ended = true;
              break;
            }
            seen += chunk.byteLength;
            if (seen > size) throw lengthError("The body is longer than its declared length.");
            hash.update(chunk);
            const release = held;
            held = chunk;
            if (release) return controller.enqueue(release);
          }
          if (seen !== size) throw lengthError("The body is shorter than its declared length.");
          const digest = hash.digestHex();
          if (sha256 !== undefined && sha256 !== digest) throw digestMismatch();
          if (held) controller.enqueue(held);
          held = null;
          settle.resolve({ size: seen, sha256: digest });
          controller.close();
        } catch (error) {
          settle.reject(error);
          controller.error(error);
          await next.cancel(error);
        }
      },
      async cancel(reason) {
        settle.reject(reason);
        await next.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
  return { stream, done };
}

export interface ChunkReader {
  /** The next bytes (at least `min` unless the source ends first), or null once the source ended. */
  read(min: number): Promise<Uint8Array | null>;
  cancel(reason: unknown): Promise<void>;
}

interface ByobReaderAtLeast extends ReadableStreamBYOBReader {
  /** workerd's extension: fills `view` with at least `min` bytes unless the stream ends first. */
  readAtLeast(min: number, view: Uint8Array): Promise<ReadableStreamReadResult<Uint8Array>>;
}

/**
 * Reads `source` in large pieces: through workerd's readAtLeast where the source is a byte stream
 * (a request body), else by gathering the source's own chunks until `min` bytes are together.
 */
export function chunkReader(source: ReadableStream<Uint8Array>): ChunkReader {
  let byob: ByobReaderAtLeast | null = null;
  try {
    const reader = source.getReader({ mode: "byob" }) as ByobReaderAtLeast;
    if (typeof reader.readAtLeast === "function") byob = reader;
    else reader.releaseLock();
  } catch {
    // Not a byte stream: read its chunks as they come.
  }
  if (byob) {
    const reader = byob;
    return {
      async read(min) {
        for (;;) {
          // Sized by what is asked for, not a whole step: a 1-byte part allocated (and zeroed) 1 MiB
          // for its byte and again for the end of its stream, a tenth of a small upload's CPU time.
          const result = await reader.readAtLeast(
            min,
            new Uint8Array(Math.max(1, Math.min(min, METER_CHUNK))),
          );
          if (result.value && result.value.byteLength > 0) return result.value;
          if (result.done) return null;
        }
      },
      cancel: (reason) => reader.cancel(reason).catch(() => {}),
    };
  }
  const reader = source.getReader();
  return {
    async read(min) {
      const pieces: Uint8Array[] = [];
      let total = 0;
      while (total < min) {
        const result = await reader.read();
        if (result.done) break;
        pieces.push(result.value);
        total += result.value.byteLength;
      }
      if (pieces.length === 0) return null;
      if (pieces.length === 1) return pieces[0] ?? null;
      const joined = new Uint8Array(total);
      let offset = 0;
      for (const piece of pieces) {
        joined.set(piece, offset);
        offset += piece.byteLength;
      }
      return joined;
    },
    cancel: (reason) => reader.cancel(reason).catch(() => {}),
  };
}

/**
 * Resolves once the first bytes of `stream` are there, with a stream of the same bytes; rejects with
 * the stream's error if it fails first (a client gone, a body refused by the meter). A driver awaits
 * it before opening the outbound request, so a body that fails before its first byte opens none: in
 * workerd a subrequest is otherwise already on the wire with its headers and gets cut, and S3 stores
 * (s3rver keeps) what arrived of a cut PUT.
 */
export async function firstBytesReady(
  stream: ReadableStream<Uint8Array>,
): Promise<ReadableStream<Uint8Array>> {
  const reader = stream.getReader();
  const first = await reader.read();
  let held: Uint8Array | null = first.done ? null : first.value;
  const ended = first.done;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (held) {
          controller.enqueue(held);
          held = null;
          return;
        }
        const next = ended ? { done: true as const } : await reader.read();
        if (next.done) controller.close();
        else controller.enqueue(next.value);
      },
      cancel: (reason) => reader.cancel(reason),
    },
    { highWaterMark: 0 },
  );
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
