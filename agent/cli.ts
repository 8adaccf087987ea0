#!/usr/bin/env node
// The flotilla-agent command: `start` serves the agent (enrolling first when FLOTILLA_PRIMARY_URL and
// FLOTILLA_ENROLLMENT_TOKEN are set and the agent is not enrolled yet); `enroll` redeems a token.
// On start it prints exactly one line to stdout: `Follower listening on http://HOST:PORT`.
import { parseArgs } from "node:util";
import { AppError } from "../shared/errors.ts";
import { AGENT_VERSION, createAgent } from "./agent.ts";
import { loadConfig } from "./config.ts";
import { enroll } from "./enroll.ts";
import { createLogger } from "./log.ts";
import { listen } from "./server.ts";
import { StateFile } from "./state.ts";

const USAGE = `Usage:
  flotilla-agent start [--config FILE]
  flotilla-agent enroll --primary URL --token TOKEN [--force] [--config FILE]
Environment: FLOTILLA_AGENT_CONFIG, FLOTILLA_AGENT_LISTEN, FLOTILLA_AGENT_BASE_URL, FLOTILLA_AGENT_DATA_DIR,
  FLOTILLA_MANAGED_INGRESS_LOCAL_ROOT, FLOTILLA_AGENT_STATE_KEY_FILE, FLOTILLA_PRIMARY_URL + FLOTILLA_ENROLLMENT_TOKEN,
  FLOTILLA_METRICS_TOKEN.`;

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: "string" },
      primary: { type: "string" },
      token: { type: "string" },
      force: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  });
  const command = positionals[0];
  if (values.help || (command !== "start" && command !== "enroll")) {
    process.stdout.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  const log = createLogger();
  const config = await loadConfig(values.config, process.env);

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
  const stop = () => {
    served.close().then(() => process.exit(0));
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
  return -1;
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
