// Owns multipart sessions: their records under {data_dir}/multipart/<id>/ (session.json and one JSON per
// received part, so parallel parts never write the same file), receiving parts (part-writers.ts says
// who may write one right now), and composition on the agent. A store with staged parts (local) keeps
// the parts and commits them without a copy when the session fixed its part size; otherwise parts are
// hidden objects streamed in order into one atomic put. Size and SHA-256 are checked before anything
// is visible.
import { randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, rename, rm, stat, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { AppError } from "../shared/errors.ts";
import type { MultipartComplete, MultipartSession, PartInfo } from "../shared/protocol/schemas.ts";
import { createPartWriters } from "./part-writers.ts";
import { superseded, syncDir } from "./store/file-io.ts";
import type { PutOptions, StagedPart, StoredObject, TargetStore } from "./store/types.ts";
import { partKey } from "./store/types.ts";

export interface SessionRecord extends MultipartSession {
  content_type: string | null;
  /** Every part but the last has exactly this size (absent in sessions that did not fix it). */
  part_size?: number;
}

export const MAX_PARTS = 10_000;

/** Temp files of records end in this; none is in flight before the server listens (the sweep). */
export const RECORD_TEMP_SUFFIX = ".tmp";

async function writeAtomic(path: string, value: unknown): Promise<void> {
  const temp = `${path}.${randomBytes(6).toString("hex")}${RECORD_TEMP_SUFFIX}`;
  try {
    await writeFile(temp, JSON.stringify(value), { mode: 0o600 });
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
}

export function createMultipartBook(dataDir: string) {
  const root = join(dataDir, "multipart");
  const writers = createPartWriters();
  const dirOf = (id: string) => {
    if (!/^mp_[0-9a-f]{32}$/.test(id)) throw new AppError("multipart_not_found", "No such multipart upload.");
    return join(root, id);
  };
  async function readParts(id: string): Promise<PartInfo[]> {
    const dir = join(dirOf(id), "parts");
    const names = (await readdir(dir)).filter((name) => /^\d+\.json$/.test(name));
    const parts = await Promise.all(
      names.map((name) =>
        readFile(join(dir, name), "utf8")
          .then((text) => JSON.parse(text) as PartInfo)
          // A record a crash left unreadable is a part not received: it is sent again.
          .catch(() => null),
      ),
    );
    return parts.filter((p) => p !== null).sort((a, b) => a.part_number - b.part_number);
  }

  /** The listed parts, checked against what was received; their total size. */
  function checkList(session: SessionRecord, received: PartInfo[], request: MultipartComplete) {
    const byNumber = new Map(received.map((p) => [p.part_number, p]));
    const listed: PartInfo[] = [];
    let previous = 0;
    for (const wanted of request.parts) {
      const part = byNumber.get(wanted.part_number);
      if (wanted.part_number <= previous) {
        throw new AppError("multipart_invalid", "Parts must be listed in increasing order without repeats.");
      }
      previous = wanted.part_number;
      if (!part) throw new AppError("multipart_invalid", `Part ${wanted.part_number} was not received.`);
      if (wanted.sha256 !== undefined && wanted.sha256 !== part.sha256) {
        throw new AppError("multipart_invalid", `Part ${wanted.part_number} has a different SHA-256.`);
      }
      listed.push(part);
    }
    const partSize = session.part_size;
    if (partSize !== undefined) {
      listed.forEach((part, i) => {
        const last = i === listed.length - 1;
        if (part.part_number !== i + 1) {
          throw new AppError("multipart_invalid", "The parts must be numbered 1, 2, 3... without gaps.");
        }
        if (last ? part.size > partSize : part.size !== partSize) {
          throw new AppError(
            "multipart_invalid",
            `Part ${part.part_number} has ${part.size} bytes; every part but the last has ${partSize}.`,
          );
        }
      });
    }
    const total = listed.reduce((sum, part) => sum + part.size, 0);
    if (request.size !== undefined && request.size !== total) {
      throw new AppError(
        "content_length_mismatch",
        `The parts add up to ${total} bytes, not ${request.size}.`,
      );
    }
    return { listed, total };
  }

  return {
    async create(
      key: string,
      target: string,
      contentType: string | null,
      partSize?: number,
    ): Promise<SessionRecord> {
      const id = `mp_${randomBytes(16).toString("hex")}`;
      const record: SessionRecord = {
        upload_id: id,
        key,
        target,
        content_type: contentType,
        created_at: new Date().toISOString(),
        ...(partSize !== undefined ? { part_size: partSize } : {}),
      };
      await mkdir(join(root, id, "parts"), { recursive: true, mode: 0o700 });
      await writeAtomic(join(root, id, "session.json"), record);
      return record;
    },

    async get(id: string): Promise<SessionRecord> {
      try {
        return JSON.parse(await readFile(join(dirOf(id), "session.json"), "utf8")) as SessionRecord;
      } catch (error) {
        if (error instanceof AppError) throw error;
        throw new AppError("multipart_not_found", "No such multipart upload.");
      }
    },

    /**
     * Receives part `n` and records it. A retry replaces the earlier part; its record goes (durably)
     * before any byte of the new attempt lands, so a part is never listed with bytes it does not have.
     */
    async putPart(
      session: SessionRecord,
      store: TargetStore,
      n: number,
      body: AsyncIterable<Uint8Array>,
      bounds: Omit<PutOptions, "contentType">,
    ): Promise<PartInfo> {
      const id = session.upload_id;
      const partSize = session.part_size;
      if (partSize !== undefined && bounds.size > partSize) {
        throw new AppError("multipart_invalid", `Parts of this upload have at most ${partSize} bytes.`);
      }
      return writers.write(id, n, async (signal) => {
        // Checked again as a writer: a discard that finished meanwhile leaves nothing to write into.
        await stat(join(dirOf(id), "session.json")).catch(() => {
          throw new AppError("multipart_not_found", "No such multipart upload.");
        });
        const partsDir = join(dirOf(id), "parts");
        const record = join(partsDir, `${n}.json`);
        const removed = await unlink(record).then(
          () => true,
          () => false,
        );
        if (removed) await syncDir(partsDir);
        const staged = store.staged;
        const stored = staged
          ? await staged.writePart(
              {
                uploadId: id,
                partNumber: n,
                offset: partSize === undefined ? null : (n - 1) * partSize,
                size: bounds.size,
                sha256: bounds.sha256,
                signal,
              },
              body,
            )
          : await store.put(partKey(id, n), body, { ...bounds, contentType: null });
        if (signal.aborted) throw superseded();
        const part: PartInfo = {
          part_number: n,
          size: stored.size,
          sha256: stored.sha256,
          etag: `"${stored.sha256}"`,
        };
        await writeAtomic(record, part);
        return part;
      });
    },

    parts: readParts,

    /** Commits the listed parts as the session's object; size and digest are checked first. */
    async compose(
      session: SessionRecord,
      store: TargetStore,
      request: MultipartComplete,
    ): Promise<StoredObject & { sha256: string }> {
      const id = session.upload_id;
      const release = await writers.hold(id);
      try {
        const { listed, total } = checkList(session, await readParts(id), request);
        const options: PutOptions = {
          size: total,
          sha256: request.sha256,
          contentType: session.content_type,
        };
        if (store.staged) {
          const inPlace = session.part_size;
          const parts: StagedPart[] = listed.map((part) => ({
            partNumber: part.part_number,
            offset: inPlace === undefined ? null : (part.part_number - 1) * inPlace,
            size: part.size,
          }));
          return await store.staged.commit(id, session.key, parts, options);
        }
        async function* concatenated(): AsyncGenerator<Uint8Array> {
          for (const part of listed) {
            const handle = await store.open(partKey(id, part.part_number));
            if (!handle)
              throw new AppError("multipart_invalid", `Part ${part.part_number} is missing on disk.`);
            yield* await handle.stream();
          }
        }
        return await store.put(session.key, concatenated(), options);
      } finally {
        release();
      }
    },

    /** Deletes the parts and the session record (idempotent); refused while a completion runs. */
    async discard(id: string, store: TargetStore | null): Promise<void> {
      const dir = dirOf(id);
      const release = await writers.hold(id);
      try {
        if (store?.staged) await store.staged.discard(id);
        else if (store) {
          const parts = await readParts(id).catch(() => []);
          for (const part of parts) await store.delete(partKey(id, part.part_number));
        }
        await rm(dir, { recursive: true, force: true });
      } finally {
        release();
      }
    },
  };
}

export type MultipartBook = ReturnType<typeof createMultipartBook>;
