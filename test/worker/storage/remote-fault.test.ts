// The remote driver's end-to-end check, against a fake follower over real HTTP that reports a digest
// different from the bytes it was sent (mocked fault: a real agent verifies and never does this).
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AppError } from "../../../shared/errors.ts";
import { createFollowerClient } from "../../../shared/protocol/client.ts";
import { createRemoteDriver } from "../../../worker/storage/remote.ts";
import { bytes, streamOf } from "../../support/bytes.ts";

describe("remote driver end-to-end digest check", () => {
  let server: Server;
  let baseUrl: string;
  const seen: string[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push(`${req.method} ${req.url?.split("?")[0]}`);
      req.resume();
      req.on("end", () => {
        if (req.method === "PUT") {
          res.writeHead(201, { "content-type": "application/json" });
          res.end(
            JSON.stringify({
              key: "files/a",
              target: "tg-fake",
              size: Number(new URL(req.url!, "http://x").searchParams.get("size")),
              sha256: "0".repeat(64),
              etag: `"${"0".repeat(64)}"`,
              content_type: null,
            }),
          );
        } else {
          res.writeHead(204).end();
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it("refuses a write whose landed digest differs from the sent bytes and removes the copy (mocked fault)", async () => {
    const driver = createRemoteDriver(
      createFollowerClient({ baseUrl, keyId: "fk_fake-key", secret: "s".repeat(40) }),
    );
    const error = await driver.put("files/a", streamOf(bytes(1000)), { size: 1000 }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe("storage_unavailable");
    expect(seen).toEqual(["PUT /internal/v2/objects/files/a", "DELETE /internal/v2/objects/files/a"]);
  });
});
