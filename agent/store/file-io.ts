// Owns the filesystem plumbing of the local store and its staged multipart parts: filesystem errors as
// protocol codes, directory fsync, and moving bytes at the disk's speed: body chunks gathered into
// writes of about a mebibyte with one write in flight while the next fills (a write per network chunk,
// one await at a time, left the disk idle half the time), reads in large buffers.
import type { Hash } from "node:crypto";
import { type FileHandle, open } from "node:fs/promises";
import { AppError } from "../../shared/errors.ts";

/** What a local object's metadata file holds; `ino` names the data file it describes. */
export interface Meta {
  size: number;
  sha256: string;
  content_type: string | null;
  ino: number;
}

export function fsError(error: unknown): unknown {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === "ENOSPC" || code === "EDQUOT") {
    return new AppError("storage_full", "The ingress target has no space left.", { cause: error });
  }
  if (code === "EISDIR" || code === "ENOTDIR" || code === "EEXIST") {
    return new AppError("conflict", "The key collides with another object's path.", { cause: error });
  }
  if (code === "EACCES" || code === "EPERM" || code === "EROFS") {
    return new AppError("service_unavailable", "The ingress target is not writable.", { cause: error });
  }
  return error;
}

export async function syncDir(path: string): Promise<void> {
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Publishes a synced temp file as the object at `key` with its metadata (the commit). */
export type Install = (temp: string, key: string, meta: Meta) => Promise<void>;

/** Bytes gathered before a write; also bounds what one upload holds beyond the write in flight. */
export const WRITE_BYTES = 1024 * 1024;
/** Chunks gathered before a write, whatever their size (writev takes at most IOV_MAX buffers). */
const WRITE_CHUNKS = 256;
export const READ_BYTES = 1024 * 1024;

export function superseded(): AppError {
  return new AppError("conflict", "A newer upload of this part, or the upload's completion, took over.");
}

async function writeAll(file: FileHandle, chunks: Uint8Array[], position: number): Promise<void> {
  let pending = chunks;
  let at = position;
  for (;;) {
    const { bytesWritten } = await file.writev(pending, at);
    at += bytesWritten;
    // A regular file takes a whole write unless something fails; the rest is written again (and the
    // failure, if any, surfaces there).
    let skip = bytesWritten;
    while (pending.length > 0 && skip >= pending[0]!.byteLength) {
      skip -= pending[0]!.byteLength;
      pending = pending.slice(1);
    }
    if (pending.length === 0) return;
    pending = [pending[0]!.subarray(skip), ...pending.slice(1)];
  }
}

/**
 * The iterator's next chunk, or a refusal as soon as `signal` aborts: a stalled sender must not hold up
 * the attempt that replaces it. (Racing every chunk against one long-lived abort promise would keep
 * each chunk reachable from that promise until the upload ends.)
 */
function nextUnlessAborted<T>(iterator: AsyncIterator<T>, signal: AbortSignal | undefined) {
  if (!signal) return iterator.next();
  return new Promise<IteratorResult<T>>((resolve, reject) => {
    if (signal.aborted) return reject(superseded());
    const onAbort = () => reject(superseded());
    signal.addEventListener("abort", onAbort, { once: true });
    iterator.next().then(
      (result) => {
        signal.removeEventListener("abort", onAbort);
        resolve(result);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}

/** Writes every chunk of `source` to `file` from `position` on; returns the bytes written. */
export async function writeChunks(
  file: FileHandle,
  source: AsyncIterable<Uint8Array>,
  position: number,
  signal?: AbortSignal,
): Promise<number> {
  let batch: Uint8Array[] = [];
  let batchBytes = 0;
  let at = position;
  let inFlight: Promise<void> | null = null;
  let failure: { error: unknown } | null = null;
  const settle = async () => {
    if (inFlight) await inFlight;
    inFlight = null;
    if (failure) throw failure.error;
  };
  const flush = async () => {
    await settle();
    const chunks = batch;
    const start = at;
    at += batchBytes;
    batch = [];
    batchBytes = 0;
    // Caught here and rethrown by settle, so a failed write is never an unhandled rejection.
    inFlight = writeAll(file, chunks, start).catch((error: unknown) => {
      failure = { error };
    });
  };
  const iterator = source[Symbol.asyncIterator]();
  try {
    for (;;) {
      const next = await nextUnlessAborted(iterator, signal);
      if (next.done) break;
      const chunk = next.value;
      if (chunk.byteLength === 0) continue;
      batch.push(chunk);
      batchBytes += chunk.byteLength;
      if (batchBytes >= WRITE_BYTES || batch.length >= WRITE_CHUNKS) await flush();
    }
    if (batchBytes > 0) await flush();
    await settle();
  } catch (error) {
    await settle().catch(() => undefined);
    void iterator.return?.()?.catch(() => undefined);
    throw error;
  }
  return at - position;
}

/** Feeds `length` bytes of `file` from `start` into `hash`, reading the next buffer while one is hashed. */
export async function hashFile(file: FileHandle, start: number, length: number, hash: Hash): Promise<void> {
  const buffers = [Buffer.allocUnsafe(READ_BYTES), Buffer.allocUnsafe(READ_BYTES)];
  const end = start + length;
  const read = (buffer: Buffer, at: number) =>
    at >= end ? null : file.read(buffer, 0, Math.min(READ_BYTES, end - at), at);
  let at = start;
  let next = read(buffers[0]!, at);
  for (let turn = 0; next; turn++) {
    const { bytesRead } = await next;
    if (bytesRead === 0)
      throw new AppError("multipart_invalid", "The staged upload is shorter than its parts.");
    const current = buffers[turn % 2]!;
    at += bytesRead;
    next = read(buffers[(turn + 1) % 2]!, at);
    hash.update(current.subarray(0, bytesRead));
  }
}

/** Yields `length` bytes of `file` from `start` in fresh buffers (for consumers that keep them). */
export async function* fileChunks(
  file: FileHandle,
  start: number,
  length: number,
): AsyncGenerator<Uint8Array> {
  const end = start + length;
  for (let at = start; at < end; ) {
    const buffer = Buffer.allocUnsafe(Math.min(READ_BYTES, end - at));
    const { bytesRead } = await file.read(buffer, 0, buffer.byteLength, at);
    if (bytesRead === 0) throw new Error("the file ended before the bytes it was read for");
    at += bytesRead;
    yield bytesRead === buffer.byteLength ? buffer : buffer.subarray(0, bytesRead);
  }
}
