// Owns multipart parts on a local target, under <dir>/.flotilla/multipart/<upload id>/. When the session
// fixed its part size, every part is written in place at its offset into one file, `object`, hashed
// forward as parts arrive (digest-thread.ts), and completion checks the whole-object SHA-256 before
// anything is visible, cuts the file to the parts' total and commits it by rename: the bytes are never
// copied. Otherwise each part has a file of its own, named by its number, and completion concatenates
// them into `object` first. Either way a part is on disk (datasync) before it is acknowledged, and
// parts carry no object metadata of their own. The digests in progress live as long as their upload.
import { createHash } from "node:crypto";
import { constants, type FileHandle, mkdir, open, rm, unlink } from "node:fs/promises";
import { join } from "node:path";
import { AppError } from "../../shared/errors.ts";
import type { DigestThread } from "./digest-thread.ts";
import { fileChunks, fsError, hashFile, type Install, superseded, syncDir, writeChunks } from "./file-io.ts";
import { checkDigest, metered } from "./metered.ts";
import type { PartWrite, StagedPart, StagedParts } from "./types.ts";

const OBJECT = "object";
const UPLOAD_ID = /^mp_[0-9a-f]{32}$/;

export function createStagedParts(dir: string, install: Install, digests: DigestThread): StagedParts {
  const sessionDir = (uploadId: string) => {
    if (!UPLOAD_ID.test(uploadId)) throw new AppError("multipart_not_found", "No such multipart upload.");
    return join(dir, ".flotilla", "multipart", uploadId);
  };
  const stagedPath = (uploadId: string) => join(sessionDir(uploadId), OBJECT);

  /** Writes `object` from the parts' own files, in order; returns the SHA-256 of what it wrote. */
  async function concatenate(session: string, handle: FileHandle, parts: StagedPart[]): Promise<string> {
    const hash = createHash("sha256");
    async function* chunks(): AsyncGenerator<Uint8Array> {
      for (const part of parts) {
        const file = await open(join(session, String(part.partNumber)), "r").catch((error: unknown) => {
          if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
          throw new AppError("multipart_invalid", `Part ${part.partNumber} is missing on disk.`);
        });
        try {
          for await (const chunk of fileChunks(file, 0, part.size)) {
            hash.update(chunk);
            yield chunk;
          }
        } finally {
          await file.close();
        }
      }
    }
    await handle.truncate(0);
    await writeChunks(handle, chunks(), 0);
    return hash.digest("hex");
  }

  return {
    async writePart(part: PartWrite, body: AsyncIterable<Uint8Array>) {
      const session = sessionDir(part.uploadId);
      const inPlace = part.offset !== null;
      if (part.offset !== null) {
        // Acknowledged before a byte of this part lands, so no hash takes in bytes being replaced.
        await digests.rewriting(part.uploadId, stagedPath(part.uploadId), part.offset);
      }
      try {
        await mkdir(session, { recursive: true });
        const handle = inPlace
          ? await open(join(session, OBJECT), constants.O_RDWR | constants.O_CREAT, 0o640)
          : await open(join(session, String(part.partNumber)), "w", 0o640);
        try {
          const meter = metered(body, part.size);
          await writeChunks(handle, meter.body, part.offset ?? 0, part.signal);
          checkDigest(meter.digest(), part.sha256);
          await handle.datasync();
          if (part.signal.aborted) throw superseded();
          await syncDir(session);
          if (part.offset !== null) {
            digests.written(part.uploadId, stagedPath(part.uploadId), part.offset, part.size);
          }
          return { size: part.size, sha256: meter.digest() };
        } finally {
          await handle.close();
        }
      } catch (error) {
        throw fsError(error);
      }
    },

    async commit(uploadId: string, key: string, parts: StagedPart[], options) {
      const session = sessionDir(uploadId);
      const inPlace = parts.every((part) => part.offset !== null);
      const staged = join(session, OBJECT);
      let handle: FileHandle;
      try {
        handle = await open(staged, inPlace ? "r+" : "w", 0o640);
      } catch (error) {
        // In place, `object` leaves only by the rename that commits it: an earlier completion did.
        if ((error as NodeJS.ErrnoException).code === "ENOENT") {
          throw new AppError("multipart_not_found", "This multipart upload was already completed.");
        }
        throw fsError(error);
      }
      try {
        let ino: number;
        let sha256: string;
        try {
          if (inPlace) {
            sha256 = await digests.digest(uploadId, staged, options.size).catch(async () => {
              const hash = createHash("sha256");
              await hashFile(handle, 0, options.size, hash);
              return hash.digest("hex");
            });
          } else {
            sha256 = await concatenate(session, handle, parts);
          }
          checkDigest(sha256, options.sha256);
          // Bytes of parts beyond the listed ones (sent but left out) are not part of the object.
          await handle.truncate(options.size);
          await handle.sync();
          ino = (await handle.stat()).ino;
        } finally {
          await handle.close();
        }
        await install(staged, key, { size: options.size, sha256, content_type: options.contentType, ino });
        digests.forget(uploadId);
        return { size: options.size, sha256, contentType: options.contentType };
      } catch (error) {
        // A concatenation that failed leaves nothing behind; in place, `object` still holds the parts.
        if (!inPlace) await unlink(staged).catch(() => undefined);
        throw fsError(error);
      }
    },

    async discard(uploadId: string) {
      digests.forget(uploadId);
      await rm(sessionDir(uploadId), { recursive: true, force: true });
      // Parts written by earlier versions, as hidden objects, kept metadata of their own here.
      await rm(join(dir, ".flotilla", "meta", ".flotilla", "multipart", uploadId), {
        recursive: true,
        force: true,
      });
    },
  };
}
