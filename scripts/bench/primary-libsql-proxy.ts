// Owns the benchmark's stand-in for distance between the worker and its database: an HTTP proxy in
// front of the local libSQL server that counts every request (one request is one round trip: each
// Hrana pipeline the worker sends) and can hold each request and each answer for a fixed delay, as
// Turso seen from a distant edge location.
import { createServer, request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";

export interface LibsqlProxy {
  url: string;
  /** Requests forwarded since the proxy started. */
  readonly requests: number;
  /** Milliseconds each request and each answer is held (one way); 0 passes them straight through. */
  delayMs: number;
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function startLibsqlProxy(target: string): Promise<LibsqlProxy> {
  const upstream = new URL(target);
  let requests = 0;
  const state = { delayMs: 0 };
  const server = createServer(async (req, res) => {
    requests += 1;
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (state.delayMs > 0) await sleep(state.delayMs);
    const forward = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      async (answer) => {
        const body: Buffer[] = [];
        for await (const chunk of answer) body.push(chunk as Buffer);
        if (state.delayMs > 0) await sleep(state.delayMs);
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        res.end(Buffer.concat(body));
      },
    );
    forward.on("error", () => {
      res.writeHead(502);
      res.end();
    });
    forward.end(Buffer.concat(chunks));
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get requests() {
      return requests;
    },
    get delayMs() {
      return state.delayMs;
    },
    set delayMs(ms: number) {
      state.delayMs = ms;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
