// Owns the local-directory ingress target: objects at <dir>/<key>, metadata (size, SHA-256, content
// type, inode) at <dir>/.flotilla/meta/<key>.json, uploads staged in <dir>/.flotilla/tmp on the same
// filesystem. Commit = fsync temp file, write metadata naming the temp file's inode, rename, fsync dir;
// metadata whose inode does not match the data is ignored, so a crash never pairs data with a wrong digest.
import { randomBytes } from "node:crypto";
import { mkdir, open, readFile, rename, statfs, unlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { Readable } from "node:stream";
import { AppError } from "../../shared/errors.ts";
import { confine } from "./confine.ts";
import { checkDigest, metered } from "./metered.ts";
import type { ObjectHandle, PutOptions, StoredObject, TargetStore } from "./types.ts";

interface Meta {
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

async function syncDir(path: string): Promise<void> {
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export function createLocalStore(dir: string): TargetStore {
  const metaPath = (key: string) => confine(dir, join(".flotilla/meta", `${key}.json`));

  async function readMeta(key: string): Promise<Meta | null> {
    try {
      return JSON.parse(await readFile(await metaPath(key), "utf8")) as Meta;
    } catch {
      return null;
    }
  }

  return {
    async apply() {
      await mkdir(join(dir, ".flotilla/tmp"), { recursive: true });
      const probe = join(dir, ".flotilla/tmp", `probe-${randomBytes(8).toString("hex")}`);
      await writeFile(probe, "ok", { flag: "wx" });
      await unlink(probe);
    },

    async capacity() {
      const stats = await statfs(dir);
      return { free: stats.bavail * stats.bsize, total: stats.blocks * stats.bsize };
    },

    async put(key: string, body: AsyncIterable<Uint8Array>, options: PutOptions) {
      const final = await confine(dir, key);
      const tmpDir = join(dir, ".flotilla/tmp");
      const temp = join(tmpDir, randomBytes(16).toString("hex"));
      let committed = false;
      try {
        await mkdir(tmpDir, { recursive: true });
        const handle = await open(temp, "wx", 0o640);
        const meter = metered(body, options.size);
        let ino: number;
        try {
          for await (const chunk of meter.body) await handle.write(chunk);
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
        const metaFile = await metaPath(key);
        await mkdir(dirname(metaFile), { recursive: true });
        const metaTemp = `${metaFile}.${randomBytes(6).toString("hex")}.tmp`;
        await writeFile(metaTemp, JSON.stringify(meta));
        await rename(metaTemp, metaFile);
        await mkdir(dirname(final), { recursive: true });
        await rename(temp, final);
        committed = true;
        await syncDir(dirname(final));
        return { size: meta.size, sha256: meta.sha256, contentType: meta.content_type };
      } catch (error) {
        if (!committed) await unlink(temp).catch(() => undefined);
        throw fsError(error);
      }
    },

    async open(key: string): Promise<ObjectHandle | null> {
      const path = await confine(dir, key);
      let handle: Awaited<ReturnType<typeof open>>;
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
        async stream(range) {
          const nodeStream = handle.createReadStream(
            range ? { start: range.start, end: range.end, autoClose: true } : { autoClose: true },
          );
          return Readable.toWeb(nodeStream) as ReadableStream<Uint8Array>;
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
  };
}
