// Multipart on a local target with a fixed part size: parts land in place in one staged file, and
// completion commits that very file (no copy), with the whole-object SHA-256 checked first even when
// parts were sent again after the digest had passed them, a stalled attempt of a part is replaced by a
// newer one, and a completion killed midway (a real process, SIGKILL) leaves nothing partial visible.
import { createHash } from "node:crypto";
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AppError } from "../../shared/errors.ts";
import { createFollowerClient } from "../../shared/protocol/client.ts";
import { startAgentProcess } from "../support/agents.ts";
import { bytes, streamOf } from "../support/bytes.ts";
import { inProcessAgent, startRedeemServer, tempDir } from "./helpers.ts";

const sha = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof AppError) return error.code;
    throw error;
  }
  return "none";
}

const localTarget = {
  driver: "local",
  name: "local",
  revision: 1,
  is_default: true,
  base_path: "t",
} as const;

describe("multipart in place on a local target", () => {
  let h: Awaited<ReturnType<typeof inProcessAgent>>;

  beforeAll(async () => {
    h = await inProcessAgent();
    expect((await h.client.upsertIngressTarget("t", localTarget)).state).toBe("applied");
  });
  afterAll(() => h.cleanup());

  it("commits the file the parts were written into, and keeps no metadata or files of the parts", async () => {
    const parts = [bytes(4096, 1), bytes(4096, 2), bytes(100, 3)];
    const session = await h.client.createMultipart({ key: "files/inode", part_size: 4096 });
    for (const n of [2, 3, 1])
      await h.client.putPart(session.upload_id, n, parts[n - 1]!, { size: parts[n - 1]!.byteLength });
    const staged = join(h.root, "t", ".flotilla", "multipart", session.upload_id, "object");
    const before = await stat(staged);
    const whole = Buffer.concat(parts);
    await h.client.completeMultipart(session.upload_id, {
      parts: [1, 2, 3].map((n) => ({ part_number: n })),
      sha256: sha(whole),
    });
    const after = await stat(join(h.root, "t", "files", "inode"));
    expect(after.ino).toBe(before.ino);
    expect(after.size).toBe(whole.byteLength);
    expect(sha(await readFile(join(h.root, "t", "files", "inode")))).toBe(sha(whole));
    expect(await readdir(join(h.root, "t", ".flotilla", "multipart"))).toEqual([]);
    expect(await readdir(join(h.root, "t", ".flotilla", "meta"))).toEqual(["files"]);
  });

  it("checks the whole digest of the latest bytes when parts are sent again after the digest passed them", async () => {
    const size = 256 * 1024;
    const first = [bytes(size, 11), bytes(size, 12), bytes(size, 13)];
    const session = await h.client.createMultipart({ key: "files/resent", part_size: size });
    for (const n of [1, 2, 3]) await h.client.putPart(session.upload_id, n, first[n - 1]!, { size });
    // Part 1 and part 3 again with other bytes, out of order, part 1 twice (a retry of the retry).
    const latest = [bytes(size, 21), first[1]!, bytes(size, 23)];
    await h.client.putPart(session.upload_id, 3, latest[2]!, { size });
    await h.client.putPart(session.upload_id, 1, bytes(size, 99), { size });
    await h.client.putPart(session.upload_id, 1, latest[0]!, { size });
    const list = { parts: [1, 2, 3].map((n) => ({ part_number: n })) };
    expect(
      await codeOf(
        h.client.completeMultipart(session.upload_id, { ...list, sha256: sha(Buffer.concat(first)) }),
      ),
    ).toBe("content_digest_mismatch");
    const done = await h.client.completeMultipart(session.upload_id, list);
    expect(done.sha256).toBe(sha(Buffer.concat(latest)));
    const back = new Uint8Array(await (await h.client.getObject("files/resent")).arrayBuffer());
    expect(sha(back)).toBe(sha(Buffer.concat(latest)));
  });

  it("lets a newer attempt of a part replace one whose sender stalled, which is refused", async () => {
    const size = 200_000;
    const session = await h.client.createMultipart({ key: "files/stalled", part_size: size });
    let reading = () => {};
    const agentReads = new Promise<void>((resolve) => {
      reading = resolve;
    });
    const stalled = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes(50_000, 5));
      },
      // Asked for more once the agent took the first chunk, i.e. once this attempt is writing; never
      // sends the rest.
      pull: () => {
        reading();
        return new Promise<void>(() => undefined);
      },
    });
    const first = h.client.putPart(session.upload_id, 1, stalled, { size });
    const firstCode = codeOf(first);
    await agentReads;
    const part = bytes(size, 6);
    expect((await h.client.putPart(session.upload_id, 1, part, { size })).sha256).toBe(sha(part));
    expect(await firstCode).toBe("conflict");
    const done = await h.client.completeMultipart(session.upload_id, { parts: [{ part_number: 1 }] });
    expect(done.sha256).toBe(sha(part));
  });
});

describe("a completion killed midway (real process, SIGKILL)", () => {
  it("shows either nothing or the whole object, and the retry after a restart ends with the whole object", async () => {
    const primary = await startRedeemServer();
    const data = await tempDir("crash-data");
    const root = await tempDir("crash-root");
    const issued = primary.issue();
    const env = {
      FLOTILLA_AGENT_LISTEN: "127.0.0.1:0",
      FLOTILLA_AGENT_DATA_DIR: data.path,
      FLOTILLA_MANAGED_INGRESS_LOCAL_ROOT: root.path,
      FLOTILLA_PRIMARY_URL: primary.url,
      FLOTILLA_ENROLLMENT_TOKEN: issued.token,
    };
    const clientOf = (url: string) =>
      createFollowerClient({ baseUrl: url, keyId: issued.key_id, secret: issued.secret });
    let agent = await startAgentProcess({ env });
    try {
      let client = clientOf(agent.baseUrl);
      expect((await client.upsertIngressTarget("t", localTarget)).state).toBe("applied");
      const partSize = 8 * 1024 * 1024;
      const parts = Array.from({ length: 8 }, (_, i) => bytes(partSize, 40 + i));
      const whole = Buffer.concat(parts);
      const session = await client.createMultipart({ key: "files/crash", part_size: partSize });
      for (const [i, part] of parts.entries()) {
        await client.putPart(session.upload_id, i + 1, streamOf(part, 1024 * 1024), { size: partSize });
      }
      // A fresh process has no digest in progress: its completion reads the whole staged file.
      await agent.stop();
      agent = await startAgentProcess({ env });
      client = clientOf(agent.baseUrl);
      const pid = agent.child().pid!;
      const readSoFar = async () =>
        Number(/rchar: (\d+)/.exec(await readFile(`/proc/${pid}/io`, "utf8"))?.[1]);
      const start = await readSoFar();
      const list = { parts: parts.map((_, i) => ({ part_number: i + 1 })), sha256: sha(whole) };
      const completing = client.completeMultipart(session.upload_id, list).then(
        () => "answered",
        () => "cut off",
      );
      while ((await readSoFar()) - start < partSize) await new Promise((r) => setImmediate(r));
      agent.child().kill("SIGKILL");
      await completing;
      await new Promise<void>((resolve) => {
        if (agent.child().exitCode !== null || agent.child().signalCode !== null) resolve();
        else agent.child().once("exit", () => resolve());
      });

      const object = join(root.path, "t", "files", "crash");
      const seen = await readFile(object).catch(() => null);
      if (seen !== null) expect(sha(seen)).toBe(sha(whole));

      agent = await startAgentProcess({ env });
      client = clientOf(agent.baseUrl);
      const retried = await client.completeMultipart(session.upload_id, list).then(
        (info) => info.sha256,
        (error: unknown) => (error instanceof AppError ? error.code : String(error)),
      );
      // Committed before the kill: the session is gone and the object answers; otherwise the retry commits.
      expect(retried).toBe(seen === null ? sha(whole) : "multipart_not_found");
      const head = await client.headObject("files/crash");
      expect(head).toMatchObject({ size: whole.byteLength, sha256: sha(whole) });
      expect(sha(await readFile(object))).toBe(sha(whole));
      expect(await readdir(join(root.path, "t", ".flotilla", "tmp"))).toEqual([]);
    } finally {
      await agent.stop();
      await primary.stop();
      await data.remove();
      await root.remove();
    }
    // Three agent processes and 64 MiB written with datasync: on a busy machine this outlasts 30 s.
  }, 120_000);
});
