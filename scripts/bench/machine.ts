// Owns the machine's own limits, measured in the same run so each transfer figure reads as a ratio:
// sequential disk write ending in fsync (on the disk the follower writes to) and streaming SHA-256.
import { createHash, randomBytes } from "node:crypto";
import { open, rm } from "node:fs/promises";
import { join } from "node:path";

const BUFFER = 8 * 1024 * 1024;

/** Seconds to write `bytes` in 8 MiB writes and fsync them. */
export async function diskWriteSeconds(dir: string, bytes: number): Promise<number> {
  const path = join(dir, `bench-disk-${randomBytes(6).toString("hex")}`);
  const buffer = randomBytes(BUFFER);
  const started = performance.now();
  const file = await open(path, "w");
  try {
    for (let written = 0; written < bytes; written += BUFFER) {
      await file.write(buffer, 0, Math.min(BUFFER, bytes - written));
    }
    await file.sync();
  } finally {
    await file.close();
  }
  const seconds = (performance.now() - started) / 1000;
  await rm(path, { force: true });
  return seconds;
}

/** Seconds to hash `bytes` fed in 1 MiB updates (the size the transfers stream in). */
export function sha256Seconds(bytes: number): number {
  const buffer = randomBytes(1024 * 1024);
  const hash = createHash("sha256");
  const started = performance.now();
  for (let done = 0; done < bytes; done += buffer.length) hash.update(buffer);
  hash.digest();
  return (performance.now() - started) / 1000;
}
