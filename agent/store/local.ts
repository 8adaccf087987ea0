// Owns the local-directory ingress target: objects at <dir>/<key>, metadata (size, SHA-256, content
// type, inode) at <dir>/.flotilla/meta/<key>.json, multipart parts under <dir>/.flotilla/multipart
// (staged.ts). Every temp file, data or metadata, lives in <dir>/.flotilla/tmp on the same filesystem:
// a failed write removes its own, and the start-up sweep removes what a crash left. Commit = fsync the
// data, write metadata naming its inode, rename, fsync dir; metadata whose inode does not match the data
// is ignored, so a crash never pairs data with a wrong digest.
import { randomBytes } from "node:crypto";
import { type FileHandle, mkdir, open, readFile, rename, statfs, unlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { confine } from "./confine.ts";
import type { DigestThread } from "./digest-thread.ts";
import { fileChunks, fsError, type Install, type Meta, syncDir, writeChunks } from "./file-io.ts";
import { checkDigest, metered } from "./metered.ts";
import { createStagedParts } from "./staged.ts";
import type { ByteRange, ObjectHandle, PutOptions, StoredObject, TargetStore } from "./types.ts";

/** The object (or a range of it) as a Web stream that closes the file when it ends or is cancelled. */
function webStream(handle: FileHandle, start: number, length: number): ReadableStream<Uint8Array> {
  const chunks = fileChunks(handle, start, length);
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await handle.close();
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const next = await chunks.next();
        if (next.done) {
          await close();
          controller.close();
        } else controller.enqueue(next.value);
      } catch (error) {
        await close();
        controller.error(error);
      }
    },
    async cancel() {
      await chunks.return(undefined);
      await close();
    },
  });
}

export function createLocalStore(dir: string, digests: DigestThread): TargetStore {
  const tmpDir = join(dir, ".flotilla/tmp");
  const metaPath = (key: string) => confine(dir, join(".flotilla/meta", `${key}.json`));
  const tempPath = () => join(tmpDir, randomBytes(16).toString("hex"));

  async function readMeta(key: string): Promise<Meta | null> {
    try {
      return JSON.parse(await readFile(await metaPath(key), "utf8")) as Meta;
    } catch {
      return null;
    }
  }

  const install: Install = async (temp, key, meta) => {
    const final = await confine(dir, key);
    const metaFile = await metaPath(key);
    await mkdir(dirname(metaFile), { recursive: true });
    const metaTemp = tempPath();
    try {
      await mkdir(tmpDir, { recursive: true });
      await writeFile(metaTemp, JSON.stringify(meta), { flag: "wx", mode: 0o640 });
      await rename(metaTemp, metaFile);
    } catch (error) {
      await unlink(metaTemp).catch(() => undefined);
      throw error;
    }
    await mkdir(dirname(final), { recursive: true });
    await rename(temp, final);
    await syncDir(dirname(final));
  };

  return {
    async apply() {
      await mkdir(tmpDir, { recursive: true });
      const probe = join(tmpDir, `probe-${randomBytes(8).toString("hex")}`);
      await writeFile(probe, "ok", { flag: "wx" });
      await unlink(probe);
    },

    async capacity() {
      const stats = await statfs(dir);
      return { free: stats.bavail * stats.bsize, total: stats.blocks * stats.bsize };
    },

    async put(key: string, body: AsyncIterable<Uint8Array>, options: PutOptions) {
      // Confined before a byte is read: a key that escapes is refused without touching the disk.
      await confine(dir, key);
      const temp = tempPath();
      try {
        await mkdir(tmpDir, { recursive: true });
        const handle = await open(temp, "wx", 0o640);
        const meter = metered(body, options.size);
        let ino: number;
        try {
          await writeChunks(handle, meter.body, 0);
          checkDigest(meter.digest(), options.sha256);
          await handle.sync();
          ino = (await handle.stat()).ino;
        } finally {
          await handle.close();
        }
        const meta: Meta = {
          size: options.size,
          sha256: meter.digest(),
          content_type: options.contentType,
          ino,
        };
        await install(temp, key, meta);
        return { size: meta.size, sha256: meta.sha256, contentType: meta.content_type };
      } catch (error) {
        // After the rename the temp name is free again and this finds nothing.
        await unlink(temp).catch(() => undefined);
        throw fsError(error);
      }
    },

    async open(key: string): Promise<ObjectHandle | null> {
      const path = await confine(dir, key);
      let handle: FileHandle;
      try {
        handle = await open(path, "r");
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === "ENOENT" || code === "ENOTDIR") return null;
        throw fsError(error);
      }
      const stat = await handle.stat();
      if (!stat.isFile()) {
        await handle.close();
        return null;
      }
      const meta = await readMeta(key);
      const trusted = meta !== null && meta.ino === stat.ino && meta.size === stat.size;
      const info: StoredObject = {
        size: stat.size,
        sha256: trusted ? meta.sha256 : null,
        contentType: trusted ? meta.content_type : null,
      };
      return {
        ...info,
        file: handle,
        async stream(range?: ByteRange) {
          const start = range?.start ?? 0;
          const end = range ? range.end + 1 : stat.size;
          return webStream(handle, start, end - start);
        },
        release: () => handle.close(),
      };
    },

    async delete(key: string) {
      for (const path of [await confine(dir, key), await metaPath(key)]) {
        await unlink(path).catch((error: NodeJS.ErrnoException) => {
          if (error.code !== "ENOENT" && error.code !== "ENOTDIR") throw fsError(error);
        });
      }
    },

    staged: createStagedParts(dir, install, digests),
  };
}
