// Owns downloads a test holds open: each answered 200 and read to its first chunk, then left unread
// (its stream keeps a channel slot and window), and read to the end later with its SHA-256.
import { createHash, type Hash } from "node:crypto";
import { expect } from "vitest";

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
