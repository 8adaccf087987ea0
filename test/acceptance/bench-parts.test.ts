// The benchmark's own parts, without running a benchmark: the generated payload is deterministic and
// any slice equals the same bytes of the whole stream (parts sent in parallel add up to the file),
// memory readings come from /proc, and the report marks each goal met or missed from the figures.
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { BLOCK, drain, Payload } from "../../scripts/bench/data.ts";
import { findWorkerd, PhaseMemory } from "../../scripts/bench/memory.ts";
import { type Phase, report } from "../../scripts/bench/report.ts";

async function bytesOf(stream: ReadableStream<Uint8Array>): Promise<Buffer> {
  return Buffer.from(await new Response(stream).arrayBuffer());
}

describe("bench payload", () => {
  const size = 2 * BLOCK + 12_345;
  const payload = new Payload(size);

  it("streams exactly `size` bytes whose SHA-256 is the one it announces", async () => {
    const whole = await bytesOf(payload.stream());
    expect(whole.length).toBe(size);
    expect(createHash("sha256").update(whole).digest("hex")).toBe(payload.sha256());
    expect(await drain(payload.stream())).toEqual({ bytes: size, sha256: payload.sha256() });
  });

  it("gives every slice the same bytes as the whole stream, across block boundaries", async () => {
    const whole = await bytesOf(payload.stream());
    for (const [offset, length] of [
      [0, 10],
      [BLOCK - 5, 30],
      [BLOCK + 3, BLOCK],
      [size - 100, 100],
    ] as const) {
      expect(
        (await bytesOf(payload.stream(offset, length))).equals(whole.subarray(offset, offset + length)),
      ).toBe(true);
      expect(payload.sha256(offset, length)).toBe(
        createHash("sha256")
          .update(whole.subarray(offset, offset + length))
          .digest("hex"),
      );
    }
  });

  it("stamps each block, so no two blocks are equal", async () => {
    const whole = await bytesOf(payload.stream());
    expect(whole.subarray(0, BLOCK).equals(whole.subarray(BLOCK, 2 * BLOCK))).toBe(false);
  });
});

describe("bench memory", () => {
  it("reads this process's resident memory and a peak at least as large", () => {
    const phase = new PhaseMemory(process.pid);
    const ballast = Buffer.alloc(32 * 1024 * 1024, 1);
    const reading = phase.stop();
    expect(ballast[0]).toBe(1);
    expect(reading.idleMB).toBeGreaterThan(1);
    expect(reading.peakMB).toBeGreaterThanOrEqual(reading.idleMB);
  });

  it("says so when there is no workerd below a process", () => {
    expect(() => findWorkerd(process.pid)).toThrow(/no workerd/);
  });
});

describe("bench report", () => {
  const memory = (idleMB: number, peakMB: number) => ({ idleMB, peakMB, method: "VmHWM" as const });
  const phase = (name: Phase["name"], seconds: number, workerdPeak = 110, error?: string): Phase => ({
    name,
    seconds,
    memory: { workerd: memory(100, workerdPeak), agent: memory(100, 120) },
    error,
  });
  const run = (phases: Phase[]) =>
    report({
      size: 1024 ** 3,
      plan: { partSize: 64 * 1024 ** 2, concurrency: 4 },
      repeat: 2,
      machine: { shaSeconds: 1, diskSeconds: 2, probeBytes: 1024 ** 3, diskDir: "/tmp/x" },
      phases,
    }).join("\n");

  it("marks each ratio goal against direct and keeps the best round", () => {
    const text = run([
      phase("upload direct", 10),
      phase("upload relay_stream", 20),
      phase("upload relay_stream", 12.5),
      phase("upload presigned", 10.5),
      phase("download direct", 5),
      phase("download relay_stream", 5),
      phase("download presigned", 10),
    ]);
    expect(text).toMatch(/\[met {3}\] upload relay_stream >= 70% of direct: 80%/);
    expect(text).toMatch(/\[met {3}\] upload presigned >= 90% of direct: 95%/);
    expect(text).toMatch(/\[missed\] download presigned >= 90% of direct: 50%/);
  });

  it("misses the memory goal at 200 MB above idle, counting failed attempts, and reports failed phases as not measured", () => {
    const text = run([
      phase("upload direct", 10),
      phase("upload relay_stream", 10, 350),
      phase("upload presigned", 10, 110, "PUT presigned part 1 -> 403 cors_origin_forbidden"),
    ]);
    expect(text).toMatch(
      /\[missed\] workerd < 200 MB above idle in every transfer: worst 250 MB \(upload relay_stream/,
    );
    expect(text).toMatch(
      /upload presigned +FAILED after 10\.0 s \(workerd \+10 MB, agent \+20 MB\): PUT presigned part 1 -> 403 cors_origin_forbidden/,
    );
    expect(text).toMatch(/\[missed\] upload presigned >= 90% of direct: not measured/);
  });
});
