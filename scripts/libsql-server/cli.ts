#!/usr/bin/env node
// Runs the local libSQL server alone:
//   node scripts/libsql-server/cli.ts --db data/primary.db --port 8081 [--host 127.0.0.1] [--token T]
// The token may come from LIBSQL_SERVER_TOKEN instead, which keeps it out of the process list.
import { parseArgs } from "node:util";
import { startLibsqlServer } from "./index.ts";

const { values } = parseArgs({
  options: {
    db: { type: "string", default: "data/primary.db" },
    port: { type: "string", default: "8081" },
    host: { type: "string", default: "127.0.0.1" },
    token: { type: "string" },
  },
});

const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`--port must be a port number, got ${values.port}.`);
  process.exit(2);
}

try {
  const server = await startLibsqlServer({
    path: values.db,
    host: values.host,
    port,
    authToken: values.token ?? process.env.LIBSQL_SERVER_TOKEN,
  });
  console.log(`libSQL: ${server.url}`);
  const stop = () => void server.close().then(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
} catch (error) {
  console.error(`libSQL server did not start: ${error instanceof Error ? error.message : error}`);
  process.exit(1);
}
