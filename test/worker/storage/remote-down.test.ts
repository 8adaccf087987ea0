// A follower that is already down when a write starts: the remote driver must answer at once with a
// clear code, even though the transport never read the body (it used to wait on the body forever).
import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { AppError } from "../../../shared/errors.ts";
import { createFollowerClient } from "../../../shared/protocol/client.ts";
import { createRemoteDriver } from "../../../worker/storage/remote.ts";

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", () => done()));
  const address = server.address();
  await new Promise<void>((done) => server.close(() => done()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

function endlessBody(): ReadableStream<Uint8Array> {
  return new ReadableStream({ pull: (controller) => controller.enqueue(new Uint8Array(64 * 1024)) });
}

describe("remote driver with the follower down", () => {
  it.each(["put", "putPart"] as const)("%s is refused with follower_unreachable", async (operation) => {
    const client = createFollowerClient({
      baseUrl: `http://127.0.0.1:${await closedPort()}`,
      keyId: "key-of-a-node",
      secret: "s".repeat(48),
    });
    const driver = createRemoteDriver(client);
    const attempt =
      operation === "put"
        ? driver.put("files/a", endlessBody(), { size: 10 * 1024 * 1024 })
        : driver.putPart("files/a", "upload-1", 1, endlessBody(), { size: 10 * 1024 * 1024 });
    const error = await attempt.then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe("follower_unreachable");
  });
});
