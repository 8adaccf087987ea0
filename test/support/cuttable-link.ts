// Owns a TCP link the tests can cut: it forwards each connection to a target port and, on cut(),
// destroys the connections open at that moment (both ends lose them at once, as when a NAT drops its
// mapping), while connections made afterwards are forwarded again. silence() takes the network
// between away without a word (a router that lost power, a NAT that forgot its mapping): the
// connections open then carry nothing more either way and never close, so each end holds a socket
// that looks open and only its own keepalive can tell; new connections are refused until heal().
import { type AddressInfo, createConnection, createServer, type Socket } from "node:net";

export interface CuttableLink {
  /** http://host:port of the link: give it to the client instead of the target's own URL. */
  url: string;
  /** Connections accepted so far. */
  connections(): number;
  cut(): void;
  silence(): void;
  heal(): void;
  close(): Promise<void>;
}

/** `listenHost`: where the link listens (default the target's own host). */
export async function cuttableLink(target: URL, listenHost = target.hostname): Promise<CuttableLink> {
  const pairs = new Set<{ client: Socket; upstream: Socket; silent: boolean }>();
  let accepted = 0;
  let down = false;
  const server = createServer((client) => {
    if (down) {
      client.resetAndDestroy();
      return;
    }
    accepted += 1;
    const upstream = createConnection({ host: target.hostname, port: Number(target.port) });
    const pair = { client, upstream, silent: false };
    pairs.add(pair);
    client.pipe(upstream);
    upstream.pipe(client);
    const drop = (socket: Socket) => () => {
      // A silenced connection's end that gives up tells the other nothing.
      for (const end of pair.silent ? [socket] : [client, upstream]) end.destroy();
      if (client.destroyed && upstream.destroyed) pairs.delete(pair);
    };
    client.on("close", drop(client)).on("error", drop(client));
    upstream.on("close", drop(upstream)).on("error", drop(upstream));
  });
  await new Promise<void>((resolve) => server.listen(0, listenHost, resolve));
  const { port } = server.address() as AddressInfo;
  const cut = () => {
    for (const { client, upstream } of pairs) {
      for (const end of [client, upstream]) if (!end.destroyed) end.resetAndDestroy();
    }
    pairs.clear();
  };
  const silence = () => {
    down = true;
    for (const pair of pairs) {
      pair.silent = true;
      pair.client.unpipe(pair.upstream);
      pair.upstream.unpipe(pair.client);
      // What either end sends from now on goes nowhere.
      for (const end of [pair.client, pair.upstream]) end.on("data", () => {}).resume();
    }
  };
  return {
    url: `http://${listenHost}:${port}`,
    connections: () => accepted,
    cut,
    silence,
    heal: () => {
      down = false;
    },
    async close() {
      cut();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
