// Owns the one storage interface every ingress target implements (local directory, S3 bucket), so the
// object routes, multipart composition and the conformance suite do not care which one is behind.

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
}

/** Reserved key space inside a target (object keys may not start with ".flotilla"). */
export const partKey = (uploadId: string, partNumber: number) =>
  `.flotilla/multipart/${uploadId}/${partNumber}`;
