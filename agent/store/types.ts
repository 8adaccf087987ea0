// Owns the one storage interface every ingress target implements (local directory, S3 bucket), so the
// object routes, multipart composition and the conformance suite do not care which one is behind.
import type { FileHandle } from "node:fs/promises";

export interface ByteRange {
  start: number;
  /** Inclusive. */
  end: number;
}

export interface PutOptions {
  size: number;
  /** Expected SHA-256 (hex); the put fails without committing anything when the body differs. */
  sha256?: string | undefined;
  contentType: string | null;
}

export interface StoredObject {
  size: number;
  /** Null when the object's digest is unknown (e.g. metadata lost in a crash). */
  sha256: string | null;
  contentType: string | null;
}

export interface ObjectHandle extends StoredObject {
  /** Streams the object (or a range of it); releases the handle when the stream ends or is cancelled. */
  stream(range?: ByteRange): Promise<ReadableStream<Uint8Array>>;
  /** Releases the handle when no stream will be read. */
  release(): Promise<void>;
  /** Set when the object is a local file: the server may send it from the file itself (released by release). */
  file?: FileHandle;
}

export interface PartWrite {
  uploadId: string;
  partNumber: number;
  /** Where the part starts in the object, when the session fixed its part size; null otherwise. */
  offset: number | null;
  size: number;
  sha256?: string | undefined;
  /** Aborted when a newer attempt of the same part, or the session's completion, takes over. */
  signal: AbortSignal;
}

export interface StagedPart {
  partNumber: number;
  offset: number | null;
  size: number;
}

/**
 * Multipart parts kept by the store itself (a local directory), so completion can commit without a
 * copy: parts with an offset are written in place into one staged file, others each into a file of
 * their own. A store without it keeps parts as hidden objects (partKey) and composes them with put.
 */
export interface StagedParts {
  /** Writes one part, checked (size, digest) and on disk before it resolves; nothing is recorded here. */
  writePart(part: PartWrite, body: AsyncIterable<Uint8Array>): Promise<{ size: number; sha256: string }>;
  /** Commits the listed parts, in order, as the object at `key`: all or nothing, digest checked first. */
  commit(
    uploadId: string,
    key: string,
    parts: StagedPart[],
    options: PutOptions,
  ): Promise<StoredObject & { sha256: string }>;
  /** Idempotent. */
  discard(uploadId: string): Promise<void>;
}

export interface TargetStore {
  /** Creates or checks the target and proves it writable; throws with a safe reason otherwise. */
  apply(): Promise<void>;
  capacity(): Promise<{ free: number; total: number } | null>;
  /** Streams the body in, verifying size and digest, and commits atomically: all or nothing. */
  put(
    key: string,
    body: AsyncIterable<Uint8Array>,
    options: PutOptions,
  ): Promise<StoredObject & { sha256: string }>;
  open(key: string): Promise<ObjectHandle | null>;
  /** Idempotent. */
  delete(key: string): Promise<void>;
  staged?: StagedParts;
}

/** Parts as hidden objects, for stores without staged parts (S3); object keys never start with ".flotilla". */
export const partKey = (uploadId: string, partNumber: number) =>
  `.flotilla/multipart/${uploadId}/${partNumber}`;
