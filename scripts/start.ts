// `npm start`: the whole single-box stack on embedded defaults. The local libSQL server on
// <data>/primary.db (migrated here, never in a request), the primary in workerd through Miniflare,
// one follower agent, and the first admin account. Ctrl-C stops everything.
import { mkdir } from "node:fs/promises";
import { readStackConfig } from "./stack/config.ts";
import { PortInUseError } from "./stack/ports.ts";
import { startStack } from "./stack/stack.ts";

const config = readStackConfig();
await mkdir(config.dataDir, { recursive: true });

let stack: Awaited<ReturnType<typeof startStack>>;
try {
  stack = await startStack(config, { log: (line) => console.error(line) });
} catch (error) {
  if (error instanceof PortInUseError) {
    console.error(error.message);
    process.exit(1);
  }
  throw error;
}

for (const line of stack.summary) console.log(line);

let stopping = false;
async function stop(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.error(`Received ${signal}, stopping Flotilla...`);
  await stack.stop();
  process.exit(0);
}
// Miniflare installs an exit hook that calls process.exit at the first SIGINT/SIGTERM, before the
// follower and the libSQL server are stopped. We take the signals over; stack.stop() disposes
// Miniflare (and so workerd) itself, in order.
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.removeAllListeners(signal);
  process.on(signal, () => void stop(signal));
}
