// Owns the whole-object SHA-256 of an upload whose parts land in place, in any order: as parts reach
// the disk, the staged file is hashed forward from its start as far as the parts on disk reach, in the
// background, so completion only hashes what is left (SHA-256 cannot combine the parts' own digests).
// A part sent again rewinds the digest to the last part boundary before it (a copy of the hash state is
// kept at each). In memory only: after a restart, completion hashes the whole file once.
import { createHash, type Hash } from "node:crypto";
import { type FileHandle, open } from "node:fs/promises";
import { hashFile, READ_BYTES } from "./file-io.ts";

export class PrefixDigest {
  readonly #path: string;
  #hash = createHash("sha256");
  /** Bytes [0, at) are in #hash. */
  #at = 0;
  /** Hash states at part boundaries reached so far, by offset. */
  readonly #boundaries = new Map<number, Hash>([[0, createHash("sha256")]]);
  /** Parts on disk, by offset: their sizes. */
  readonly #onDisk = new Map<number, number>();
  #generation = 0;
  #running: Promise<void> | null = null;

  constructor(path: string) {
    this.#path = path;
  }

  /** The part at `offset` is about to be written: forget it, and what was hashed from it on. */
  rewriting(offset: number): void {
    this.#onDisk.delete(offset);
    // At the frontier itself the background may be hashing that very part now: it starts over too.
    if (offset > this.#at) return;
    const back = Math.max(...[...this.#boundaries.keys()].filter((at) => at <= offset));
    for (const at of this.#boundaries.keys()) if (at > back) this.#boundaries.delete(at);
    this.#hash = this.#boundaries.get(back)!.copy();
    this.#at = back;
    this.#generation++;
  }

  /** The part at `offset` is on disk with `size` bytes. */
  written(offset: number, size: number): void {
    if (size === 0) return;
    this.#onDisk.set(offset, size);
    this.#advance();
  }

  #advance(): void {
    if (this.#running || !this.#onDisk.has(this.#at)) return;
    this.#running = this.#hashForward()
      // A failed read leaves the digest where it got to; completion reads the rest itself.
      .catch(() => undefined)
      .finally(() => {
        this.#running = null;
        this.#advance();
      });
  }

  async #hashForward(): Promise<void> {
    const file = await open(this.#path, "r");
    try {
      const buffer = Buffer.allocUnsafe(READ_BYTES);
      for (let size = this.#onDisk.get(this.#at); size !== undefined; size = this.#onDisk.get(this.#at)) {
        const generation = this.#generation;
        const start = this.#at;
        let at = start;
        while (at < start + size && generation === this.#generation) {
          const { bytesRead } = await file.read(buffer, 0, Math.min(READ_BYTES, start + size - at), at);
          if (bytesRead === 0) return;
          // A rewrite that began while this read ran may have changed these bytes: drop them.
          if (generation !== this.#generation) break;
          this.#hash.update(buffer.subarray(0, bytesRead));
          at += bytesRead;
        }
        if (generation !== this.#generation) continue;
        this.#at = at;
        this.#boundaries.set(at, this.#hash.copy());
      }
    } finally {
      await file.close();
    }
  }

  /** SHA-256 (hex) of the first `size` bytes; `file` is read only where the background did not reach. */
  async digest(file: FileHandle, size: number): Promise<string> {
    while (this.#running) await this.#running;
    let hash: Hash;
    let from: number;
    if (this.#at <= size) {
      hash = this.#hash.copy();
      from = this.#at;
    } else {
      from = Math.max(...[...this.#boundaries.keys()].filter((at) => at <= size));
      hash = this.#boundaries.get(from)!.copy();
    }
    await hashFile(file, from, size - from, hash);
    return hash.digest("hex");
  }
}
