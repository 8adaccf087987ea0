#!/usr/bin/env node
// The flotilla-agent command: `start` serves the agent (enrolling first when FLOTILLA_PRIMARY_URL and
// FLOTILLA_ENROLLMENT_TOKEN are set and the agent is not enrolled yet); `enroll` redeems a token;
// `health` asks the running agent's /health/ready (the container health check). The same file runs
// from a checkout (`npm run agent -- ...`) and bundled into the single executable (scripts/build-agent.ts).
// On start it prints exactly one line to stdout: `Follower listening on http://HOST:PORT`.
import { parseArgs } from "node:util";
import { AppError } from "../shared/errors.ts";
import { AGENT_VERSION, createAgent } from "./agent.ts";
import { startChannelClient } from "./channel.ts";
import { loadConfig } from "./config.ts";
import { enroll } from "./enroll.ts";
import { createLogger } from "./log.ts";
import { listen } from "./server.ts";
import { StateFile } from "./state.ts";

const USAGE = `Usage:
  flotilla-agent enroll --primary URL --token TOKEN [--force] [SETTINGS]
  flotilla-agent start [SETTINGS]
  flotilla-agent health [SETTINGS]     exit 0 when the running agent's /health/ready answers 200
  flotilla-agent --version
Settings (a flag wins over its environment variable, which wins over the config file):
  --config FILE        FLOTILLA_AGENT_CONFIG
  --listen HOST:PORT   FLOTILLA_AGENT_LISTEN     (default 127.0.0.1:7070)
  --base-url URL       FLOTILLA_AGENT_BASE_URL   (how the primary and browsers reach this agent)
  --data-dir DIR       FLOTILLA_AGENT_DATA_DIR   (enrollment state; default ./data or beside the config)
  --ingress-root DIR   FLOTILLA_MANAGED_INGRESS_LOCAL_ROOT (default DATA_DIR/managed-ingress)
A second agent on the same machine needs its own --listen port, --base-url and --data-dir.
Also read from the environment: FLOTILLA_PRIMARY_URL + FLOTILLA_ENROLLMENT_TOKEN (enroll at first start),
  FLOTILLA_AGENT_STATE_KEY_FILE, FLOTILLA_METRICS_TOKEN, FLOTILLA_MAX_OBJECT_BYTES.`;

/** Each settings flag stands for one environment variable, so both follow the same rules. */
const SETTING_FLAGS = {
  config: "FLOTILLA_AGENT_CONFIG",
  listen: "FLOTILLA_AGENT_LISTEN",
  "base-url": "FLOTILLA_AGENT_BASE_URL",
  "data-dir": "FLOTILLA_AGENT_DATA_DIR",
  "ingress-root": "FLOTILLA_MANAGED_INGRESS_LOCAL_ROOT",
} as const;

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: "string" },
      listen: { type: "string" },
      "base-url": { type: "string" },
      "data-dir": { type: "string" },
      "ingress-root": { type: "string" },
      primary: { type: "string" },
      token: { type: "string" },
      force: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
      version: { type: "boolean", default: false },
    },
  });
  if (values.version) {
    process.stdout.write(`flotilla-agent ${AGENT_VERSION}\n`);
    return 0;
  }
  const command = positionals[0];
  if (values.help || (command !== "start" && command !== "enroll" && command !== "health")) {
    process.stdout.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  const env = { ...process.env };
  for (const [flag, name] of Object.entries(SETTING_FLAGS)) {
    const given = values[flag as keyof typeof SETTING_FLAGS];
    if (given !== undefined) env[name] = given;
  }
  const log = createLogger();
  const config = await loadConfig(undefined, env);
  if (command === "health") return health(config.listen);

  if (command === "enroll") {
    if (!values.primary || !values.token) {
      process.stderr.write("enroll needs --primary URL and --token TOKEN\n");
      return 2;
    }
    const state = new StateFile(config.dataDir, config.stateKeyFile);
    await state.load();
    const enrollment = await enroll({
      state,
      primaryUrl: values.primary,
      token: values.token,
      baseUrl: config.baseUrl,
      version: AGENT_VERSION,
      force: values.force,
    });
    process.stdout.write(
      `Enrolled as node ${enrollment.node_id} (${enrollment.node_name}) of ${enrollment.primary_origin}.\n` +
        `State: ${state.path}. Readiness: GET /health/ready.\n`,
    );
    return 0;
  }

  const agent = await createAgent(config, { log });
  if (config.enrollment) {
    if (agent.services.state.current.enrollment) {
      log.info("already enrolled; FLOTILLA_ENROLLMENT_TOKEN ignored", {
        node_id: agent.services.state.current.enrollment.node_id,
      });
    } else {
      const enrollment = await enroll({
        state: agent.services.state,
        primaryUrl: config.enrollment.primaryUrl,
        token: config.enrollment.token,
        baseUrl: config.baseUrl,
        version: AGENT_VERSION,
      });
      log.info("enrolled", { node_id: enrollment.node_id, primary: enrollment.primary_origin });
    }
  }
  const served = await listen(agent.fetch, config.listen.host, config.listen.port);
  process.stdout.write(`Follower listening on ${served.url}\n`);
  // Every agent asks the primary how it is reached; only an outbound node opens a channel.
  agent.services.channel = startChannelClient({
    state: agent.services.state,
    serve: agent.fetch,
    log,
    version: AGENT_VERSION,
    pingSeconds: config.channelPingSeconds,
  });
  const stop = () => {
    agent.services.channel?.stop();
    served.close().then(() => process.exit(0));
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
  return -1;
}

/** Asks the agent listening at `listen` (a wildcard address is asked on loopback) whether it is ready. */
async function health(listen: { host: string; port: number }): Promise<number> {
  if (listen.port === 0) {
    process.stderr.write("health needs the agent's fixed port (--listen HOST:PORT), not port 0\n");
    return 2;
  }
  const wildcard = listen.host === "0.0.0.0" || listen.host === "::";
  const host = wildcard ? (listen.host === "::" ? "[::1]" : "127.0.0.1") : listen.host;
  const shown = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
  const url = `http://${shown}:${listen.port}/health/ready`;
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000) }).catch((cause: unknown) => {
    process.stderr.write(`${url}: ${cause instanceof Error ? cause.message : String(cause)}\n`);
    return null;
  });
  if (!response) return 1;
  process.stdout.write(`${await response.text()}\n`);
  return response.status === 200 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (error: unknown) => {
    const message = error instanceof AppError ? `${error.code}: ${error.message}` : String(error);
    process.stderr.write(`flotilla-agent: ${message}\n`);
    process.exitCode = 1;
  },
);
