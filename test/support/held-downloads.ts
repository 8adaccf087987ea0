// Owns downloads a test holds open: each answered 200 and read to its first chunk, then left unread
// (its stream keeps a channel slot and window), and read to the end later with its SHA-256.
import { createHash, type Hash } from "node:crypto";
import { readFileSync } from "node:fs";
import { expect } from "vitest";
import { INITIAL_WINDOW_BYTES } from "../../shared/protocol/channel.ts";

const MiB = 1024 * 1024;

/**
 * What the kernel may hold of a download its reader stopped reading, between the primary and the
 * reader: workerd's send buffer and the reader's receive buffer, at the most TCP autotuning may grow
 * them to on this machine (Linux: the maxima of net.ipv4.tcp_wmem and tcp_rmem; 32 MiB of rmem is
 * common, so this is tens of MiB, not "a few"). 8 MiB where they cannot be read.
 */
export function socketBufferBytes(): number {
  const max = (name: string) => {
    try {
      return Number(readFileSync(`/proc/sys/net/ipv4/${name}`, "utf8").trim().split(/\s+/)[2]);
    } catch {
      return Number.NaN;
    }
  };
  const total = max("tcp_wmem") + max("tcp_rmem");
  return Number.isFinite(total) ? total : 8 * MiB;
}

/**
 * The most a paused download may have left the follower beyond what its reader read: one stream
 * window in the primary plus what the sockets after it hold, and 4 MiB for the runtimes' own buffers.
 */
export const aheadLimitBytes = () => INITIAL_WINDOW_BYTES + socketBufferBytes() + 4 * MiB;

/** A file size no paused download can be carried whole in: a held one keeps its stream and slot. */
export const heldFileBytes = () => aheadLimitBytes() + 8 * MiB;

export interface HeldDownload {
  reader: ReadableStreamDefaultReader<Uint8Array>;
  digest: Hash;
}

/** `count` downloads started at once, each paused after its first chunk. */
export function holdDownloads(count: number, download: () => Promise<Response>): Promise<HeldDownload[]> {
  return Promise.all(
    Array.from({ length: count }, async () => {
      const response = await download();
      expect(response.status).toBe(200);
      const reader = response.body!.getReader();
      const digest = createHash("sha256");
      digest.update((await reader.read()).value!);
      return { reader, digest };
    }),
  );
}

/** Reads a held download to its end; the SHA-256 of everything it carried. */
export async function readRest({ reader, digest }: HeldDownload): Promise<string> {
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return digest.digest("hex");
    digest.update(value);
  }
}
