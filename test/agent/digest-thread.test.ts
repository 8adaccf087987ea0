// The digest thread (a real worker thread on a real staged file): the whole-object SHA-256 of parts
// that arrive in any order, rewound when a part is written again after the digest passed it, for a
// prefix shorter than what was hashed, for an upload it never heard of (it reads the whole file), and
// for uploads hashed at the same time (each read lands in a buffer of its own).
import { createHash } from "node:crypto";
import { constants, open, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDigestThread } from "../../agent/store/digest-thread.ts";
import { bytes } from "../support/bytes.ts";
import { tempDir } from "./helpers.ts";

const sha = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");
const PART = 1024 * 1024 + 17;

describe("the digest thread", () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  const thread = createDigestThread();

  beforeAll(async () => {
    dir = await tempDir("digest");
  });
  afterAll(() => dir.remove());

  /** Writes part `n` (0-based) at its offset, telling the thread before and after, as the store does. */
  async function writePart(id: string, path: string, n: number, data: Uint8Array) {
    await thread.rewriting(id, path, n * PART);
    const file = await open(path, constants.O_RDWR | constants.O_CREAT);
    try {
      await file.write(data, 0, data.byteLength, n * PART);
    } finally {
      await file.close();
    }
    thread.written(id, path, n * PART, data.byteLength);
  }

  it("gives the whole digest of parts written in any order", async () => {
    const path = join(dir.path, "a");
    const parts = [bytes(PART, 1), bytes(PART, 2), bytes(500, 3)];
    for (const n of [2, 0, 1]) await writePart("mp_a", path, n, parts[n]!);
    const size = 2 * PART + 500;
    expect(await thread.digest("mp_a", path, size)).toBe(sha(Buffer.concat(parts)));
  });

  it("rewinds to the part written again, even once the digest has passed it", async () => {
    const path = join(dir.path, "b");
    const size = 3 * PART;
    for (const n of [0, 1, 2]) await writePart("mp_b", path, n, bytes(PART, 10 + n));
    expect(await thread.digest("mp_b", path, size)).toBe(sha(await readFile(path)));
    await writePart("mp_b", path, 1, bytes(PART, 99));
    await writePart("mp_b", path, 0, bytes(PART, 98));
    const now = await readFile(path);
    expect(sha(now.subarray(PART, 2 * PART))).toBe(sha(bytes(PART, 99)));
    expect(await thread.digest("mp_b", path, size)).toBe(sha(now));
  });

  it("gives the digest of a prefix shorter than what it hashed", async () => {
    const path = join(dir.path, "c");
    for (const n of [0, 1, 2]) await writePart("mp_c", path, n, bytes(PART, 20 + n));
    await thread.digest("mp_c", path, 3 * PART);
    const prefix = PART + 12_345;
    expect(await thread.digest("mp_c", path, prefix)).toBe(sha((await readFile(path)).subarray(0, prefix)));
  });

  it("keeps uploads hashed at the same time apart", async () => {
    const uploads = ["mp_e", "mp_f", "mp_g"].map((id, u) => ({
      id,
      path: join(dir.path, id),
      parts: [0, 1, 2, 3].map((n) => bytes(PART, 40 + 4 * u + n)),
    }));
    await Promise.all(
      uploads.map(async (upload) => {
        for (const n of [0, 1, 2, 3]) await writePart(upload.id, upload.path, n, upload.parts[n]!);
      }),
    );
    const digests = await Promise.all(
      uploads.map((upload) => thread.digest(upload.id, upload.path, 4 * PART)),
    );
    expect(digests).toEqual(uploads.map((upload) => sha(Buffer.concat(upload.parts))));
  });

  it("reads the whole file for an upload it never heard of", async () => {
    const path = join(dir.path, "d");
    const data = bytes(2 * PART, 30);
    await writeFile(path, data);
    expect(await thread.digest("mp_d", path, data.byteLength)).toBe(sha(data));
  });
});
