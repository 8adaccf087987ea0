// Global setup of the workerd test project: bundles the worker once (the bundle `npm start` serves)
// and builds the console once, for every test file's harness (test/support/workerd-primary.ts).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { bundleWorker } from "../../scripts/stack/primary.ts";
import { buildConsole } from "../../worker/console/build.ts";

export interface WorkerdBundle {
  scriptPath: string;
  consoleDir: string;
}

declare module "vitest" {
  export interface ProvidedContext {
    workerdBundle: WorkerdBundle;
  }
}

export default async function setup(project: TestProject) {
  const dir = await mkdtemp(join(tmpdir(), "flotilla-workerd-bundle-"));
  const scriptPath = await bundleWorker(join(dir, "build"));
  const consoleDir = await buildConsole(join(dir, "console"));
  project.provide("workerdBundle", { scriptPath, consoleDir });
  return () => rm(dir, { recursive: true, force: true });
}
