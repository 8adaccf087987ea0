// Owns the thread that computes the whole-object SHA-256 of staged uploads off the event loop. The event
// loop already hashes every part as it streams in; a second SHA-256 pass there (the whole object's)
// made multipart uploads CPU-bound once the disk is fast. One thread per agent, started on first use
// and not keeping the process alive; it runs prefixDigests (below), sent as source, so the agent stays
// one file when bundled. Should the thread fail, completion hashes the file itself.
import { Worker } from "node:worker_threads";

/** What the main side asks of the thread, per upload (`id`), on the staged file at `path`. */
type Request =
  | { kind: "rewriting"; id: string; path: string; offset: number; reply: number }
  | { kind: "written"; id: string; path: string; offset: number; size: number }
  | { kind: "digest"; id: string; path: string; size: number; reply: number }
  | { kind: "forget"; id: string };
type Reply = { reply: number; sha256?: string; error?: string };

/**
 * Runs inside the thread and must not use anything from outside its own body. Per upload it keeps
 * the hash of the staged file from its start as far as the parts on disk reach, hashing forward as
 * parts arrive, with a copy of the hash state at each part boundary: a part sent again rewinds it to
 * the last boundary before that part, and a read that raced the rewind is dropped.
 */
function prefixDigests(): void {
  const { createHash } = process.getBuiltinModule("node:crypto");
  const { open } = process.getBuiltinModule("node:fs/promises");
  const { parentPort } = process.getBuiltinModule("node:worker_threads");
  const READ_BYTES = 1024 * 1024;
  type Hash = ReturnType<typeof createHash>;
  interface Upload {
    path: string;
    hash: Hash;
    at: number;
    boundaries: Map<number, Hash>;
    onDisk: Map<number, number>;
    generation: number;
    running: Promise<void> | null;
  }
  const uploads = new Map<string, Upload>();
  const uploadOf = (id: string, path: string) => {
    let upload = uploads.get(id);
    if (!upload) {
      upload = {
        path,
        hash: createHash("sha256"),
        at: 0,
        boundaries: new Map([[0, createHash("sha256")]]),
        onDisk: new Map(),
        generation: 0,
        running: null,
      };
      uploads.set(id, upload);
    }
    return upload;
  };
  const back = (upload: Upload, offset: number) =>
    Math.max(...[...upload.boundaries.keys()].filter((at) => at <= offset));
  async function hashRange(upload: Upload, hash: Hash, from: number, to: number, generation: number) {
    const file = await open(upload.path, "r");
    // A buffer of its own: other uploads' reads run while this one awaits.
    const buffer = Buffer.allocUnsafe(Math.min(READ_BYTES, Math.max(to - from, 1)));
    try {
      for (let at = from; at < to; ) {
        const { bytesRead } = await file.read(buffer, 0, Math.min(READ_BYTES, to - at), at);
        if (bytesRead === 0) throw new Error("the staged file is shorter than its parts");
        if (generation !== upload.generation) return false;
        hash.update(buffer.subarray(0, bytesRead));
        at += bytesRead;
      }
      return true;
    } finally {
      await file.close();
    }
  }
  async function forward(upload: Upload) {
    for (let size = upload.onDisk.get(upload.at); size !== undefined; size = upload.onDisk.get(upload.at)) {
      const start = upload.at;
      const generation = upload.generation;
      const done = await hashRange(upload, upload.hash, start, start + size, generation);
      // A rewind while the file was being closed counts as well.
      if (!done || generation !== upload.generation) continue;
      upload.at = start + size;
      upload.boundaries.set(upload.at, upload.hash.copy());
    }
  }
  function advance(upload: Upload) {
    if (upload.running || !upload.onDisk.has(upload.at)) return;
    upload.running = forward(upload)
      // A failed read leaves the digest where it got to; the digest request reads the rest.
      .catch(() => undefined)
      .finally(() => {
        upload.running = null;
        advance(upload);
      });
  }
  parentPort?.on("message", async (message: Request) => {
    if (message.kind === "forget") {
      uploads.delete(message.id);
      return;
    }
    const upload = uploadOf(message.id, message.path);
    if (message.kind === "rewriting") {
      upload.onDisk.delete(message.offset);
      // At the frontier itself a part may be being hashed right now: it starts over too.
      if (message.offset <= upload.at) {
        const to = back(upload, message.offset);
        for (const at of upload.boundaries.keys()) if (at > to) upload.boundaries.delete(at);
        upload.hash = upload.boundaries.get(to)!.copy();
        upload.at = to;
        upload.generation++;
      }
      parentPort?.postMessage({ reply: message.reply } satisfies Reply);
      return;
    }
    if (message.kind === "written") {
      if (message.size > 0) upload.onDisk.set(message.offset, message.size);
      advance(upload);
      return;
    }
    try {
      while (upload.running) await upload.running;
      const from = upload.at <= message.size ? upload.at : back(upload, message.size);
      const hash = (from === upload.at ? upload.hash : upload.boundaries.get(from)!).copy();
      // Completion holds its upload, so no part is rewritten meanwhile; were one, this digest is void.
      if (!(await hashRange(upload, hash, from, message.size, upload.generation))) {
        throw new Error("a part was rewritten while the digest was read");
      }
      parentPort?.postMessage({ reply: message.reply, sha256: hash.digest("hex") } satisfies Reply);
    } catch (error) {
      parentPort?.postMessage({ reply: message.reply, error: String(error) } satisfies Reply);
    }
  });
}

export interface DigestThread {
  /** Resolves once the thread has forgotten what it hashed from the part at `offset` on. */
  rewriting(id: string, path: string, offset: number): Promise<void>;
  written(id: string, path: string, offset: number, size: number): void;
  /** SHA-256 (hex) of the first `size` bytes of the staged file. */
  digest(id: string, path: string, size: number): Promise<string>;
  forget(id: string): void;
}

export function createDigestThread(): DigestThread {
  let worker: Worker | null = null;
  let next = 0;
  const pending = new Map<number, { resolve: (reply: Reply) => void }>();
  const failAll = (error: string) => {
    for (const [reply, waiter] of pending) waiter.resolve({ reply, error });
    pending.clear();
    worker = null;
  };
  const thread = () => {
    if (!worker) {
      const started = new Worker(`(${prefixDigests.toString()})()`, { eval: true });
      started.on("message", (reply: Reply) => {
        pending.get(reply.reply)?.resolve(reply);
        pending.delete(reply.reply);
        if (pending.size === 0) started.unref();
      });
      // A thread that died took every digest in progress with it: completion hashes the file itself.
      started.on("error", (error) => failAll(String(error)));
      started.on("exit", () => failAll("the digest thread stopped"));
      // Kept alive by the process only while an answer is awaited (after the listeners, which ref it).
      started.unref();
      worker = started;
    }
    return worker;
  };
  const ask = (message: Request & { reply: number }) =>
    new Promise<Reply>((resolve) => {
      const current = thread();
      pending.set(message.reply, { resolve });
      current.ref();
      current.postMessage(message);
    });
  return {
    async rewriting(id, path, offset) {
      await ask({ kind: "rewriting", id, path, offset, reply: next++ });
    },
    written(id, path, offset, size) {
      thread().postMessage({ kind: "written", id, path, offset, size } satisfies Request);
    },
    async digest(id, path, size) {
      const answer = await ask({ kind: "digest", id, path, size, reply: next++ });
      if (answer.sha256 === undefined) throw new Error(answer.error ?? "no digest");
      return answer.sha256;
    },
    forget(id) {
      worker?.postMessage({ kind: "forget", id } satisfies Request);
    },
  };
}
