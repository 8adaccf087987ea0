// Owns multipart sessions: their records under {data_dir}/multipart/<id>/ (session.json and one JSON per
// received part, so parallel parts never write the same file), and composition on the agent: the parts
// are streamed in order into one atomic put, with size and SHA-256 checked before anything is visible.
import { randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { AppError } from "../shared/errors.ts";
import type { MultipartComplete, MultipartSession, PartInfo } from "../shared/protocol/schemas.ts";
import type { StoredObject, TargetStore } from "./store/types.ts";
import { partKey } from "./store/types.ts";

export interface SessionRecord extends MultipartSession {
  content_type: string | null;
}

export const MAX_PARTS = 10_000;

async function writeAtomic(path: string, value: unknown): Promise<void> {
  const temp = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  await writeFile(temp, JSON.stringify(value), { mode: 0o600 });
  await rename(temp, path);
}

export function createMultipartBook(dataDir: string) {
  const root = join(dataDir, "multipart");
  const dirOf = (id: string) => {
    if (!/^mp_[0-9a-f]{32}$/.test(id)) throw new AppError("multipart_not_found", "No such multipart upload.");
    return join(root, id);
  };

  return {
    async create(key: string, target: string, contentType: string | null): Promise<SessionRecord> {
      const id = `mp_${randomBytes(16).toString("hex")}`;
      const record: SessionRecord = {
        upload_id: id,
        key,
        target,
        content_type: contentType,
        created_at: new Date().toISOString(),
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

    async recordPart(id: string, part: PartInfo): Promise<void> {
      await writeAtomic(join(dirOf(id), "parts", `${part.part_number}.json`), part);
    },

    async parts(id: string): Promise<PartInfo[]> {
      const dir = join(dirOf(id), "parts");
      const names = (await readdir(dir)).filter((name) => /^\d+\.json$/.test(name));
      const parts = await Promise.all(
        names.map(async (name) => JSON.parse(await readFile(join(dir, name), "utf8")) as PartInfo),
      );
      return parts.sort((a, b) => a.part_number - b.part_number);
    },

    /** Streams the listed parts in order into the final key; size and digest are checked by the store. */
    async compose(
      session: SessionRecord,
      store: TargetStore,
      request: MultipartComplete,
    ): Promise<StoredObject & { sha256: string }> {
      const received = new Map((await this.parts(session.upload_id)).map((p) => [p.part_number, p]));
      let total = 0;
      let previous = 0;
      for (const wanted of request.parts) {
        const part = received.get(wanted.part_number);
        if (wanted.part_number <= previous) {
          throw new AppError(
            "multipart_invalid",
            "Parts must be listed in increasing order without repeats.",
          );
        }
        previous = wanted.part_number;
        if (!part) throw new AppError("multipart_invalid", `Part ${wanted.part_number} was not received.`);
        if (wanted.sha256 !== undefined && wanted.sha256 !== part.sha256) {
          throw new AppError("multipart_invalid", `Part ${wanted.part_number} has a different SHA-256.`);
        }
        total += part.size;
      }
      if (request.size !== undefined && request.size !== total) {
        throw new AppError(
          "content_length_mismatch",
          `The parts add up to ${total} bytes, not ${request.size}.`,
        );
      }
      async function* concatenated(): AsyncGenerator<Uint8Array> {
        for (const wanted of request.parts) {
          const handle = await store.open(partKey(session.upload_id, wanted.part_number));
          if (!handle)
            throw new AppError("multipart_invalid", `Part ${wanted.part_number} is missing on disk.`);
          yield* await handle.stream();
        }
      }
      return store.put(session.key, concatenated(), {
        size: total,
        sha256: request.sha256,
        contentType: session.content_type,
      });
    },

    /** Deletes the parts and the session record (idempotent). */
    async discard(id: string, store: TargetStore | null): Promise<void> {
      const dir = dirOf(id);
      if (store) {
        const parts = await this.parts(id).catch(() => []);
        for (const part of parts) await store.delete(partKey(id, part.part_number));
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export type MultipartBook = ReturnType<typeof createMultipartBook>;
