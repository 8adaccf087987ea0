// What node:http refuses before the agent's Fetch function sees a Request (headers over its limit,
// malformed HTTP) is answered with the error envelope too, over a real socket to a served agent.
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listen, type Served } from "../../agent/server.ts";
import { errorEnvelopeSchema } from "../../shared/errors.ts";
import { inProcessAgent } from "./helpers.ts";

/** Writes raw bytes to the agent and reads everything it answers until it closes the connection. */
function exchange(url: string, raw: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const received: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => received.push(chunk));
    socket.on("end", () => resolve(Buffer.concat(received).toString("utf8")));
    socket.on("error", reject);
    socket.write(raw);
  });
}

function parse(answer: string) {
  const [head = "", body = ""] = answer.split("\r\n\r\n");
  const [statusLine = "", ...headerLines] = head.split("\r\n");
  const headers = new Map(
    headerLines.map((line) => [
      line.slice(0, line.indexOf(":")).toLowerCase(),
      line.slice(line.indexOf(":") + 1).trim(),
    ]),
  );
  return {
    status: Number(statusLine.split(" ")[1]),
    headers,
    envelope: errorEnvelopeSchema.parse(JSON.parse(body)),
  };
}

describe("requests node:http refuses itself", () => {
  let h: Awaited<ReturnType<typeof inProcessAgent>>;
  let served: Served;

  beforeAll(async () => {
    h = await inProcessAgent();
    served = await listen(h.agent.fetch, "127.0.0.1", 0);
  });
  afterAll(async () => {
    await served.close();
    await h.cleanup();
  });

  it("answers a ~100 KB header with 431 in the error envelope", async () => {
    const answer = parse(
      await exchange(
        served.url,
        `GET /health HTTP/1.1\r\nhost: agent\r\nx-big: ${"a".repeat(100_000)}\r\n\r\n`,
      ),
    );
    expect(answer.status).toBe(431);
    expect(answer.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(answer.envelope.error).toMatchObject({ code: "request_headers_too_large" });
    expect(answer.headers.get("x-request-id")).toBe(answer.envelope.error.request_id);
  });

  it("answers malformed HTTP with 400 bad_request in the error envelope", async () => {
    const answer = parse(await exchange(served.url, "GET /health HTTP/1.1\r\nhost agent\r\n\r\n"));
    expect([answer.status, answer.envelope.error.code]).toEqual([400, "bad_request"]);
  });

  it("keeps serving ordinary requests", async () => {
    expect((await fetch(`${served.url}/health`)).status).toBe(200);
  });
});
