// Owns the one storage interface every backend implements (remote follower, S3-compatible, the
// primary's R2 binding). Bodies are streams with a known length end to end; no driver buffers a
// whole object. Drivers throw AppError with storage_* / range / content codes, never raw driver text.
import type { AppError } from "../../shared/errors.ts";

export type StorageDriverKind = "remote" | "s3" | "primary";

/** A requested byte range: from an offset (optionally bounded) or the last `suffix` bytes. */
export type ByteRange = { offset: number; length?: number } | { suffix: number };

/** A range resolved against a known object size; always non-empty and inside the object. */
export interface ResolvedRange {
  offset: number;
  length: number;
}

export interface PutOptions {
  /** Exact number of bytes the stream yields; more or fewer is refused and nothing is kept. */
  size: number;
  contentType?: string;
  /** Expected lowercase hex SHA-256; a mismatch is refused and nothing is kept. */
  sha256?: string;
}

export interface PutResult {
  size: number;
  /** Lowercase hex SHA-256 of the stored bytes, computed while they streamed through. */
  sha256: string;
  etag: string;
  /**
   * Where inside the backend the bytes landed, to be stored with the file and handed back to the
   * factory for reads: the follower's ingress target key (remote); null for s3 and primary.
   */
  location: string | null;
}

export interface GetOptions {
  range?: ByteRange;
  /**
   * The reader gave up (its client went away): a backend that is still to answer stops, and a
   * follower is never asked for the bytes once it has (client_closed_request, not a storage failure).
   */
  signal?: AbortSignal;
}

export interface ObjectInfo {
  key: string;
  size: number;
  etag: string;
  contentType: string | null;
  /** Known when the backend stores it (R2 checksums, the follower); null otherwise. */
  sha256: string | null;
}

export interface ObjectBody extends ObjectInfo {
  body: ReadableStream<Uint8Array>;
  /** The served range, or null when the whole object is streamed. */
  range: ResolvedRange | null;
}

export interface UploadedPart {
  partNumber: number;
  etag: string;
  size: number;
  sha256: string;
}

export interface CompletedPart {
  partNumber: number;
  etag: string;
  /** The part's SHA-256 when known; a storage that keeps part digests (remote) composes only that part. */
  sha256?: string;
}

/** What a composed object must be before it is committed. */
export interface ExpectedObject {
  size: number;
  /** Lowercase hex SHA-256 of the whole object. */
  sha256?: string;
}

export interface CompleteResult {
  size: number;
  etag: string;
  /** Whole-object digest when the backend composes and hashes it (remote); null otherwise. */
  sha256: string | null;
  /** As PutResult.location. */
  location: string | null;
}

export interface PresignRequest {
  method: "GET" | "PUT";
  key: string;
  /** Lifetime in seconds; drivers clamp it to their own maximum. */
  expiresIn: number;
  /** PUT: exact body size the URL accepts. */
  size?: number;
  contentType?: string;
  /**
   * PUT: the SHA-256 (lowercase hex) the body must have, bound into the URL where the storage can
   * check it (a follower does; S3 and R2 ignore it).
   */
  sha256?: string;
  /** PUT of one multipart part. */
  part?: { uploadId: string; partNumber: number };
  /** GET: response header overrides, covered by the signature. */
  responseContentType?: string;
  responseContentDisposition?: string;
}

export interface PresignedUrl {
  url: string;
  method: "GET" | "PUT";
  /** Headers the browser must send unchanged (they are part of the signature). */
  headers: Record<string, string>;
  expiresAt: Date;
}

/** An object the storage is to fetch itself from a URL (protocol v2 pulls on a follower). */
export interface PullInput {
  /** Chosen by the caller, so a start whose answer was lost can be repeated. */
  id: string;
  /** A short-lived GET URL of the source (presigned), reachable from the storage. */
  url: string;
  size: number;
  /** Required: nothing is committed unless the fetched bytes have this digest. */
  sha256: string;
  contentType?: string;
}

export interface PullState {
  id: string;
  state: "running" | "done" | "failed";
  receivedBytes: number;
  /** What was committed, once done. */
  result: PutResult | null;
  /** Why it failed (nothing was committed), once failed. */
  error: AppError | null;
}

export interface DriverLimits {
  /** Smallest size of every part but the last (S3 and R2: 5 MiB). */
  minPartSize: number;
  maxParts: number;
}

export interface StorageDriver {
  readonly kind: StorageDriverKind;
  readonly limits: DriverLimits;
  put(key: string, body: ReadableStream<Uint8Array>, options: PutOptions): Promise<PutResult>;
  /** null when the object does not exist; an unsatisfiable range throws range_not_satisfiable. */
  get(key: string, options?: GetOptions): Promise<ObjectBody | null>;
  head(key: string): Promise<ObjectInfo | null>;
  /** Idempotent: deleting a missing object succeeds. */
  delete(key: string): Promise<void>;
  /**
   * `partSize`: every part but the last has exactly this size (uploads fix it from the policy's chunk
   * size); a follower then writes parts in place and completes without copying them.
   */
  createMultipart(
    key: string,
    options?: { contentType?: string; partSize?: number },
  ): Promise<{ uploadId: string }>;
  putPart(
    key: string,
    uploadId: string,
    partNumber: number,
    body: ReadableStream<Uint8Array>,
    options: { size: number; sha256?: string },
  ): Promise<UploadedPart>;
  completeMultipart(key: string, uploadId: string, parts: CompletedPart[]): Promise<CompleteResult>;
  abortMultipart(key: string, uploadId: string): Promise<void>;
  /**
   * The parts an open multipart upload holds, in part order, each with the SHA-256 it was stored
   * with; multipart_not_found once the upload was composed or aborted. Absent where the storage keeps
   * no part digests to list: S3 (parts a browser sent are known by the ETags it read from each PUT)
   * and the R2 binding (which lists no parts).
   */
  listParts?(key: string, uploadId: string): Promise<UploadedPart[]>;
  /**
   * Composes like completeMultipart but commits only an object of `expected.size` bytes and, when
   * given, SHA-256 `expected.sha256` (content_length_mismatch / content_digest_mismatch otherwise,
   * nothing committed, the upload still open), and answers the composed digest. Absent where the
   * storage composes without hashing (S3, the R2 binding): the caller reads the object back instead.
   */
  completeMultipartVerified?(
    key: string,
    uploadId: string,
    parts: CompletedPart[],
    expected: ExpectedObject,
  ): Promise<CompleteResult & { sha256: string }>;
  /** Absent when the backend cannot hand out browser URLs (the R2 binding). */
  presign?(request: PresignRequest): Promise<PresignedUrl>;
  /**
   * Copies the object at `sourceKey` to `key` inside the storage, so the bytes never pass through
   * the primary; the copy is checked against `size` and `sha256` before it is kept. Absent when the
   * backend cannot (callers then stream the copy through).
   */
  copy?(sourceKey: string, key: string, options: CopyOptions): Promise<PutResult>;
  /**
   * Has the storage fetch an object from a URL by itself, in the background, committing it at `key`
   * only with the given size and SHA-256; pullState then reports on it (pull_not_found once the
   * storage forgot it) and cancelPull stops it. Present for a follower that says it pulls; absent
   * elsewhere (S3 and R2 cannot fetch), where the caller streams the bytes instead.
   */
  startPull?(key: string, input: PullInput): Promise<PullState>;
  pullState?(id: string): Promise<PullState>;
  cancelPull?(id: string): Promise<void>;
}

export interface CopyOptions {
  size: number;
  sha256: string;
  /** Where the source landed (its PutResult.location); null for backends without locations. */
  sourceLocation: string | null;
}

/**
 * How long a storage has to start answering: a request that carries no work answers at once; an
 * upload (counted from its last byte) or a multipart composition may take a while first.
 */
export const STORAGE_TIMEOUTS = { answerMs: 30_000, longWorkMs: 10 * 60_000 } as const;
