// Owns how WebDAV writes bytes: through an upload session like any upload (the space's policy group
// resolves the policy by size, the policy's limit applies, the session's owed cleanup covers a write
// that dies half way), its parts streamed from one body into the storage's multipart upload (or one
// put when it fits a part), the next part read while the one before is stored, completed and
// verified (size, SHA-256) before a record changes. The record step writes the file at its path: a new file, or the existing file's
// content switched in one guarded statement. A copy of a file whose destination resolves to the same
// policy is made by the storage itself where the driver can; otherwise it streams through.
import { and, eq } from "drizzle-orm";
import { AppError } from "../../shared/errors.ts";
import type { AuthUser } from "../accounts/auth.ts";
import { files, folders } from "../db/schema.ts";
import { replaceFileContent } from "../files/content.ts";
import { liveFilesIn, liveFoldersIn, nameConflict } from "../files/names.ts";
import { createFileRecord, type FileRow } from "../files/records.ts";
import { fileDriver, policyOf, storageFailure } from "../files/serve.ts";
import type { Space } from "../files/spaces.ts";
import type { Services } from "../services.ts";
import type { StorageDriver } from "../storage/types.ts";
import { abortUpload } from "../uploads/abort.ts";
import { completeUpload, composedContent, type RecordFile } from "../uploads/complete.ts";
import { storeRelayPart } from "../uploads/parts.ts";
import { partSize } from "../uploads/plan.ts";
import { fixUnsizedPlan, type SessionRow, startUpload } from "../uploads/sessions.ts";
import { collect, type PartSource, partSource, prefixed } from "./body.ts";

/** Where a write lands: a name in a folder of a space (null = the space root). */
export interface WritePlace {
  space: Space;
  folderId: string | null;
  name: string;
}

export interface WriteResult {
  file: FileRow;
  /** True when an existing file's content was replaced, false when the file is new. */
  replaced: boolean;
}

/** The client id of WebDAV writes while they are in progress (they show among the user's uploads). */
const WEBDAV_CLIENT = "webdav";

/**
 * The largest part a body of unknown size is read in: each is held whole until it is known to be full,
 * two at most (the next is read while the one before is stored).
 */
export const UNSIZED_PART_MAX = 8 * 1024 * 1024;

/**
 * Writes a body whose size the client did not say. One that ends within UNSIZED_PART_MAX is written
 * as a body of that size (policy resolved by it). A longer one goes to the policy the space's group
 * gives files of any size, which has no size limit (none: 411), in parts of that policy's chunk size
 * (at most UNSIZED_PART_MAX), each held until the next byte shows whether it was the last.
 */
export async function writeUnsized(
  services: Services,
  user: AuthUser,
  place: WritePlace,
  content: { body: ReadableStream<Uint8Array>; sha256?: string; contentType: string },
): Promise<WriteResult> {
  const digest = content.sha256 ? { sha256: content.sha256 } : {};
  const source = partSource(content.body);
  const head = await collect(source.take(UNSIZED_PART_MAX));
  if (!(await source.more())) {
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        if (head.byteLength > 0) controller.enqueue(head);
        controller.close();
      },
    });
    return writeFile(services, user, place, {
      body,
      size: head.byteLength,
      contentType: content.contentType,
      ...digest,
    });
  }
  let started: Awaited<ReturnType<typeof startUpload>>;
  try {
    started = await startUpload(
      services,
      user,
      place.space,
      {
        name: place.name,
        size: 0,
        folder_id: place.folderId,
        content_type: content.contentType,
        client_id: WEBDAV_CLIENT,
        ...digest,
      },
      { unsized: { maxPart: UNSIZED_PART_MAX } },
    );
  } catch (error) {
    await source.cancel().catch(() => {});
    if (
      error instanceof AppError &&
      (error.code === "file_too_large" || error.code === "no_matching_policy")
    ) {
      throw new AppError(
        "length_required",
        "No storage policy takes files of any size here: send Content-Length.",
      );
    }
    throw error;
  }
  const { driver, policy } = started;
  let session = started.session;
  return settle(services, user, session, place, async () => {
    const parts = partSource(prefixed(head, source));
    let size = 0;
    let count = 0;
    let last = false;
    try {
      await overlapParts(parts, async (n) => {
        if (last) return null;
        const part = await collect(parts.take(session.chunkSize));
        if (n > 1 && part.byteLength === 0) return null;
        if (n > session.partCount) {
          throw new AppError("file_too_large", "The file needs more parts than the storage allows.");
        }
        count = n;
        size += part.byteLength;
        last = part.byteLength < session.chunkSize || !(await parts.more());
        const stored = storeRelayPart(services, session, n, () =>
          driver.putPart(session.storageKey, session.multipartId!, n, streamOf(part), {
            size: part.byteLength,
          }),
        );
        return { stored, read: Promise.resolve() };
      });
    } catch (error) {
      throw storageFailure(error, policy.id);
    }
    session = await fixUnsizedPlan(services, session, size, count);
  });
}

const streamOf = (bytes: Uint8Array) =>
  new ReadableStream<Uint8Array>({
    start(controller) {
      if (bytes.byteLength > 0) controller.enqueue(bytes);
      controller.close();
    },
  });

/** Writes `body` (exactly `size` bytes; `sha256` checked when given) as the file at `place`. */
export async function writeFile(
  services: Services,
  user: AuthUser,
  place: WritePlace,
  content: { body: ReadableStream<Uint8Array>; size: number; sha256?: string; contentType: string },
): Promise<WriteResult> {
  const { session, driver, policy } = await startUpload(
    services,
    user,
    place.space,
    {
      name: place.name,
      size: content.size,
      folder_id: place.folderId,
      content_type: content.contentType,
      client_id: WEBDAV_CLIENT,
      ...(content.sha256 ? { sha256: content.sha256 } : {}),
    },
    { relay: true },
  );
  return settle(services, user, session, place, async () => {
    try {
      await streamParts(services, session, driver, content.body);
    } catch (error) {
      await content.body.cancel().catch(() => {});
      throw storageFailure(error, policy.id);
    }
  });
}

/** Copies `file` to `place`: by the storage when the destination resolves to the file's own policy. */
export async function copyFile(
  services: Services,
  user: AuthUser,
  file: FileRow,
  place: WritePlace,
): Promise<WriteResult> {
  const inStorage = (policyId: string, driver: StorageDriver) => policyId === file.policyId && !!driver.copy;
  const { session, driver, policy } = await startUpload(
    services,
    user,
    place.space,
    {
      name: place.name,
      size: file.size,
      folder_id: place.folderId,
      content_type: file.contentType,
      client_id: WEBDAV_CLIENT,
      sha256: file.sha256,
    },
    { relay: true, whole: (p, d) => inStorage(p.id, d) },
  );
  return settle(services, user, session, place, async () => {
    const copy = driver.copy;
    try {
      if (copy && inStorage(policy.id, driver)) {
        await storeRelayPart(services, session, 1, () =>
          copy(file.storageKey, session.storageKey, {
            size: file.size,
            sha256: file.sha256,
            sourceLocation: file.location,
          }),
        );
        return;
      }
      const source = await fileDriver(services, file, await policyOf(services, file));
      const object = await source.get(file.storageKey);
      if (!object) {
        throw new AppError("storage_rejected", "The storage no longer has this file's bytes.", {
          details: { policy_id: file.policyId },
        });
      }
      await streamParts(services, session, driver, object.body).catch(async (error: unknown) => {
        await object.body.cancel().catch(() => {});
        throw error;
      });
    } catch (error) {
      throw storageFailure(error, policy.id);
    }
  });
}

/** Sends the session's parts cut from one stream, each read while the one before is stored; refuses a longer stream. */
async function streamParts(
  services: Services,
  session: SessionRow,
  driver: StorageDriver,
  body: ReadableStream<Uint8Array>,
): Promise<void> {
  const parts = partSource(body);
  const digest = session.partCount === 1 && session.declaredSha256 ? { sha256: session.declaredSha256 } : {};
  await overlapParts(parts, async (n) => {
    if (n > session.partCount) return null;
    const size = partSize(session, session.size, n);
    let ended!: () => void;
    const read = new Promise<void>((resolve) => {
      ended = resolve;
    });
    const part = parts.take(size, ended);
    const stored = storeRelayPart(services, session, n, () =>
      session.multipartId
        ? driver.putPart(session.storageKey, session.multipartId, n, part, { size, ...digest })
        : driver.put(session.storageKey, part, { size, contentType: session.contentType, ...digest }),
    );
    return { stored, read };
  });
  if (!(await parts.finished())) {
    throw new AppError("content_length_mismatch", "The body is longer than its declared length.");
  }
}

/** One part on its way: `read` once its bytes are all taken from the body, `stored` once the storage has it. */
interface PartInFlight {
  read: Promise<void>;
  stored: Promise<unknown>;
}

/**
 * Stores the parts `start` gives (1, 2, ...; null when there are no more), reading each from the body
 * while the one before is still being stored: part n+1 starts once part n's bytes are all read and
 * part n-1 is stored, so at most two parts are in flight and memory stays bounded. On a failure the
 * body is cancelled and every started part settles before the first failed part's error is thrown, so
 * the abort that follows finds nothing still being written.
 */
async function overlapParts(
  source: PartSource,
  start: (n: number) => Promise<PartInFlight | null>,
): Promise<void> {
  const stored: Promise<unknown>[] = [];
  try {
    for (let n = 1; ; n++) {
      const part = await start(n);
      if (!part) break;
      stored.push(part.stored);
      await Promise.race([part.read, part.stored]);
      if (n > 1) await stored[n - 2];
    }
    await Promise.all(stored);
  } catch (error) {
    await source.cancel(error).catch(() => {});
    const failed = (await Promise.allSettled(stored)).find((outcome) => outcome.status === "rejected");
    throw failed ? failed.reason : error;
  }
}

/** Stores the bytes with `send`, completes, and records at `place`; a failure gives the upload up. */
async function settle(
  services: Services,
  user: AuthUser,
  session: SessionRow,
  place: WritePlace,
  send: () => Promise<void>,
): Promise<WriteResult> {
  const outcome = { replaced: false };
  try {
    await send();
    const { file } = await completeUpload(
      services,
      user,
      session.id,
      undefined,
      recordAt(services, place, outcome),
    );
    return { file, replaced: outcome.replaced };
  } catch (error) {
    // Its parts and object are removed now; what cannot be reached stays owed to the scheduled cleanup.
    await abortUpload(services, user, session.id).catch((cause: unknown) =>
      services.log.warn("webdav write cleanup deferred", { upload_id: session.id, error: String(cause) }),
    );
    throw error;
  }
}

/** The live file or folder named `name` in the folder, if any. */
async function liveNamed(
  services: Services,
  place: WritePlace,
): Promise<{ kind: "file" | "folder"; id: string } | null> {
  const [folder] = await services.db
    .select({ id: folders.id })
    .from(folders)
    .where(and(liveFoldersIn(place.space, place.folderId), eq(folders.name, place.name)));
  if (folder) return { kind: "folder", id: folder.id };
  const [file] = await services.db
    .select({ id: files.id })
    .from(files)
    .where(and(liveFilesIn(place.space, place.folderId), eq(files.name, place.name)));
  return file ? { kind: "file", id: file.id } : null;
}

/**
 * Records a completed write as the file at `place`, looked up now (not when the write began): the
 * existing file there gets the new content, else a new file is made under exactly that name.
 */
function recordAt(services: Services, place: WritePlace, outcome: { replaced: boolean }): RecordFile {
  return async (session, composed) => {
    const content = composedContent(session, composed);
    for (let attempt = 0; attempt < 3; attempt++) {
      const existing = await liveNamed(services, place);
      if (existing?.kind === "folder") throw nameConflict(place.name);
      if (existing) {
        const row = await replaceFileContent(services, existing.id, content);
        if (row) {
          outcome.replaced = true;
          return row;
        }
        continue;
      }
      try {
        return await createFileRecord(services, {
          id: session.fileId ?? undefined,
          space: place.space,
          folderId: place.folderId,
          name: place.name,
          ...content,
          createdBy: session.userId,
          onConflict: "fail",
        });
      } catch (error) {
        // Another writer took the name meanwhile: that file is the one to replace.
        if (!(error instanceof AppError && error.code === "name_conflict")) throw error;
      }
    }
    throw nameConflict(place.name);
  };
}
