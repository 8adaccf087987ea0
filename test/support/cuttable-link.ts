// Owns a TCP link the tests can cut: it forwards each connection to a target port and, on cut(),
// destroys the connections open at that moment (both ends lose them at once, as when a NAT drops its
// mapping), while connections made afterwards are forwarded again.
import { type AddressInfo, createConnection, createServer, type Socket } from "node:net";

export interface CuttableLink {
  /** http://host:port of the link: give it to the client instead of the target's own URL. */
  url: string;
  /** Connections accepted so far. */
  connections(): number;
  cut(): void;
  close(): Promise<void>;
}

export async function cuttableLink(target: URL): Promise<CuttableLink> {
  const open = new Set<Socket>();
  let accepted = 0;
  const server = createServer((client) => {
    accepted += 1;
    const upstream = createConnection({ host: target.hostname, port: Number(target.port) });
    open.add(client);
    open.add(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on("close", drop).on("error", drop);
    upstream.on("close", drop).on("error", drop);
  });
  await new Promise<void>((resolve) => server.listen(0, target.hostname, resolve));
  const { port } = server.address() as AddressInfo;
  const cut = () => {
    for (const socket of open) socket.resetAndDestroy();
    open.clear();
  };
  return {
    url: `http://${target.hostname}:${port}`,
    connections: () => accepted,
    cut,
    async close() {
      cut();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
