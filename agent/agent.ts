// Owns assembling the agent from its configuration: state file, ingress targets, multipart book, replay
// caches, metrics and logger, wired into the Fetch handler. Used by the CLI and by in-process tests.
import { mkdir } from "node:fs/promises";
import { NonceCache } from "../shared/protocol/signing.ts";
import { createAgentHandler } from "./app.ts";
import type { AgentConfig } from "./config.ts";
import type { AgentServices } from "./context.ts";
import { createLogger, type Logger } from "./log.ts";
import { Metrics, multipartDirOf } from "./metrics.ts";
import { createMultipartBook } from "./multipart.ts";
import { createPullBook } from "./pulls.ts";
import { StateFile } from "./state.ts";
import { sweepAtStart } from "./sweep.ts";
import { createTargets } from "./targets.ts";
import { TicketBook } from "./tickets.ts";

export const AGENT_VERSION = "0.1.0";

export interface AgentOptions {
  fetch?: typeof fetch;
  log?: Logger;
  now?: () => Date;
}

export async function createAgent(config: AgentConfig, options: AgentOptions = {}) {
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const state = new StateFile(config.dataDir, config.stateKeyFile);
  await state.load();
  const fetchImpl = options.fetch ?? fetch;
  const targets = createTargets(state, config.managedIngressLocalRoot, fetchImpl);
  const log = options.log ?? createLogger();
  const metrics = new Metrics({
    targets: () => targets.list(),
    multipartDir: multipartDirOf(config.dataDir),
    version: AGENT_VERSION,
  });
  const now = options.now ?? (() => new Date());
  const services: AgentServices = {
    config,
    state,
    targets,
    multipart: createMultipartBook(config.dataDir),
    nonces: new NonceCache(),
    tickets: new TicketBook(),
    pulls: createPullBook({ fetch: fetchImpl, metrics, log, now }),
    metrics,
    log,
    version: AGENT_VERSION,
    startedAt: new Date(),
    now,
    fetch: fetchImpl,
  };
  await sweepAtStart({
    targets: services.targets,
    multipart: services.multipart,
    dataDir: config.dataDir,
    localDirs: await services.targets.localDirs(),
    log: services.log,
    now: services.now(),
  });
  return { services, fetch: createAgentHandler(services) };
}
