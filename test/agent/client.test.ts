// The primary's follower client when things go wrong on the network: unreachable, too slow, a proxy's
// HTML error page, an answer that is not protocol v2. Each becomes an AppError the primary can map.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFollowerClient, followerErrorFrom } from "../../shared/protocol/client.ts";

describe("follower client failures", () => {
  let server: Server;
  let base: string;
  const held: { end: () => void }[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      const silent =
        (req.url === "/internal/v2/capabilities" && req.headers["x-test"] === undefined) ||
        req.url?.startsWith("/internal/v2/objects/silent/") ||
        req.url?.startsWith("/internal/v2/multipart/silent");
      if (silent) {
        req.resume();
        held.push({ end: () => res.end() });
        return;
      }
      if (req.url === "/internal/v2/ingress-targets") {
        res.writeHead(502, { "content-type": "text/html" });
        res.end("<html>Bad Gateway</html>");
        return;
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ protocol: "v1" }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    for (const h of held) h.end();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const options = { keyId: "fk_client_test", secret: "c".repeat(40) };

  it("reports an unreachable follower", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const client = createFollowerClient({ baseUrl: `http://127.0.0.1:${port}`, ...options });
    await expect(client.capabilities()).rejects.toMatchObject({ code: "follower_unreachable", status: 502 });
  });

  it("gives up after its timeout when the follower does not answer", async () => {
    const client = createFollowerClient({ baseUrl: base, ...options, timeoutMs: 200 });
    await expect(client.capabilities()).rejects.toMatchObject({ code: "follower_timeout", status: 504 });
  });

  it("waits for the stream timeout only where the answer follows long work (upload body, composition)", async () => {
    const client = createFollowerClient({
      baseUrl: base,
      ...options,
      timeoutMs: 200,
      streamTimeoutMs: 1_500,
    });
    const answerLimit = { code: "follower_timeout", message: expect.stringContaining("within 200 ms") };
    const workLimit = { code: "follower_timeout", message: expect.stringContaining("within 1500 ms") };
    // A download, a HEAD and a delete from a follower that accepts but never answers: the short limit.
    await expect(client.getObject("silent/a")).rejects.toMatchObject(answerLimit);
    await expect(client.headObject("silent/a")).rejects.toMatchObject(answerLimit);
    await expect(client.deleteObject("silent/a")).rejects.toMatchObject(answerLimit);
    // A streamed upload and a composition: the long one.
    const body = new Blob([new Uint8Array(1024)]).stream();
    await expect(client.putObject("silent/a", body, { size: 1024 })).rejects.toMatchObject(workLimit);
    await expect(client.completeMultipart("silent", { parts: [{ part_number: 1 }] })).rejects.toMatchObject(
      workLimit,
    );
  });

  it("times a streamed upload's answer from its last byte when told (a slow sender is not cut off)", async () => {
    const client = createFollowerClient({ baseUrl: base, ...options, timeoutMs: 100, streamTimeoutMs: 300 });
    // A body that takes about 1 s to deliver, far longer than the 300 ms limit.
    const chunks = 10;
    let delivered = 0;
    let sent!: () => void;
    const bodySent = new Promise<void>((resolve) => {
      sent = resolve;
    });
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        controller.enqueue(new Uint8Array(100));
        delivered++;
        if (delivered === chunks) {
          controller.close();
          sent();
        }
      },
    });
    await expect(
      client.putObject("silent/slow", body, { size: 100 * chunks, bodySent }),
    ).rejects.toMatchObject({
      code: "follower_timeout",
      message: expect.stringContaining("within 300 ms"),
    });
    // The limit ran out only after the whole body was handed over (the silent follower never answers).
    expect(delivered).toBe(chunks);
  });

  it("maps a non-protocol error page and a malformed answer to follower_error", async () => {
    const client = createFollowerClient({ baseUrl: base, ...options });
    await expect(client.listIngressTargets()).rejects.toMatchObject({
      code: "follower_error",
      details: { follower_status: 502 },
    });
    const answering = createFollowerClient({
      baseUrl: base,
      ...options,
      fetch: (input, init) =>
        fetch(input, {
          ...init,
          headers: { ...Object.fromEntries(new Headers(init?.headers)), "x-test": "1" },
        }),
    });
    await expect(answering.capabilities()).rejects.toMatchObject({ code: "follower_error" });
  });

  it("lifts the S3 code of a storage refusal to details.s3_code, and only a well-formed one", async () => {
    const refusal = (details: unknown) =>
      new Response(
        JSON.stringify({
          error: { code: "storage_rejected", message: "S3 refused", request_id: "req_x", details },
        }),
        { status: 502, headers: { "content-type": "application/json" } },
      );
    expect(await followerErrorFrom(refusal({ s3_code: "InvalidAccessKeyId" }))).toMatchObject({
      code: "storage_rejected",
      details: { s3_code: "InvalidAccessKeyId", follower_details: { s3_code: "InvalidAccessKeyId" } },
    });
    const odd = await followerErrorFrom(refusal({ s3_code: "<b>Denied</b>" }));
    expect(odd.code).toBe("storage_rejected");
    expect(odd.details).not.toHaveProperty("s3_code");
  });
});
