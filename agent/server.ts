// Thin Node glue: serves the agent's Fetch function over HTTP with @hono/node-server and resolves with
// the address actually bound (port 0 picks a free port).
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";

export interface Served {
  url: string;
  close(): Promise<void>;
}

export function listen(fetchHandler: (request: Request) => Promise<Response>, host: string, port: number) {
  return new Promise<Served>((resolve, reject) => {
    const server = serve(
      { fetch: (request) => fetchHandler(request), hostname: host, port },
      (info: AddressInfo) => {
        const shown = info.family === "IPv6" ? `[${info.address}]` : info.address;
        resolve({
          url: `http://${shown}:${info.port}`,
          close: () => new Promise<void>((done) => server.close(() => done())),
        });
      },
    );
    server.once("error", reject);
  });
}
