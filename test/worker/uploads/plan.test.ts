// The part math of upload sessions: one request when the file fits a chunk or the chunk size is 0,
// relay parts under the Workers body cap, driver minimum part sizes, and parts growing (whole MiB)
// when a file would need more parts than the driver allows.
import { describe, expect, it } from "vitest";
import { AppError } from "../../../shared/errors.ts";
import { missingParts } from "../../../worker/api/uploads.ts";
import { MAX_CHUNK_SIZE } from "../../../worker/policies/check.ts";
import { assertPartNumber, partSize, planUpload } from "../../../worker/uploads/plan.ts";

const MiB = 1024 * 1024;
const follower = { minPartSize: 1, maxParts: 10_000 };
const s3 = { minPartSize: 5 * MiB, maxParts: 10_000 };

describe("upload part plan", () => {
  it("sends one request when the file fits one chunk, or the chunk size is 0", () => {
    expect(planUpload(5 * MiB, 5 * MiB, s3, "relay_stream")).toEqual({
      chunkSize: 5 * MiB,
      partCount: 1,
      multipart: false,
    });
    expect(planUpload(0, 5 * MiB, follower, "relay_stream")).toEqual({
      chunkSize: 0,
      partCount: 1,
      multipart: false,
    });
    expect(planUpload(50 * MiB, 0, follower, "relay_stream")).toMatchObject({
      partCount: 1,
      multipart: false,
    });
    expect(planUpload(4 * 1024 * MiB, 0, follower, "presigned")).toMatchObject({
      partCount: 1,
      multipart: false,
    });
  });

  it("cuts parts of the chunk size, the last one shorter", () => {
    const plan = planUpload(4 * MiB + 10, MiB, follower, "relay_stream");
    expect(plan).toEqual({ chunkSize: MiB, partCount: 5, multipart: true });
    expect([1, 2, 3, 4, 5].map((n) => partSize(plan, 4 * MiB + 10, n))).toEqual([MiB, MiB, MiB, MiB, 10]);
  });

  it("keeps relay requests under the Workers body cap even when the chunk size says 0 or more", () => {
    const size = 300 * MiB;
    expect(planUpload(size, 0, follower, "relay_stream")).toMatchObject({
      chunkSize: MAX_CHUNK_SIZE,
      partCount: 4,
    });
    expect(planUpload(size, 200 * MiB, follower, "relay_stream").chunkSize).toBe(MAX_CHUNK_SIZE);
    expect(planUpload(size, 200 * MiB, follower, "presigned").chunkSize).toBe(200 * MiB);
  });

  it("never makes a part smaller than the driver's minimum", () => {
    expect(planUpload(12 * MiB, MiB, s3, "relay_stream")).toMatchObject({ chunkSize: 5 * MiB, partCount: 3 });
  });

  it("grows parts in whole MiB when the file would need more parts than the driver allows", () => {
    const size = 20_000 * MiB + 1;
    const plan = planUpload(size, MiB, follower, "relay_stream");
    expect(plan.partCount).toBeLessThanOrEqual(10_000);
    expect(plan.chunkSize % MiB).toBe(0);
    expect(plan.chunkSize * plan.partCount).toBeGreaterThanOrEqual(size);
  });

  it("refuses a relay upload that cannot fit the driver's part count under the body cap", () => {
    const error = (() => {
      try {
        planUpload(10_000 * MAX_CHUNK_SIZE + MiB, MiB, follower, "relay_stream");
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe("file_too_large");
  });

  it("checks part numbers and lists the missing ones", () => {
    expect(() => assertPartNumber({ partCount: 3 }, 0)).toThrow(/1 to 3/);
    expect(() => assertPartNumber({ partCount: 3 }, 4)).toThrow(/1 to 3/);
    expect(() => assertPartNumber({ partCount: 3 }, 1.5)).toThrow(/1 to 3/);
    expect(() => assertPartNumber({ partCount: 3 }, 3)).not.toThrow();
    expect(missingParts(5, [4, 1, 2])).toEqual([3, 5]);
  });
});
