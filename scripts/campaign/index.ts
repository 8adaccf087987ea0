// `npm run campaign`: the standing reliability campaign against a throwaway single-box stack (libSQL
// server, the primary in workerd, the agent): a soak with the memory of every process, injected
// faults with nothing lost, and property-based fuzzing of every operation of the route table.
// Prints figures like a benchmark; exits 1 when a goal is missed.
//   npm run campaign -- --fuzz N --faults N --soak-seconds N [--soak-rounds N] [--soak-clients N] [--seed S] [--no-anchor]
import { parseArgs } from "node:util";
import { runCampaign } from "./run.ts";

const { values } = parseArgs({
  options: {
    fuzz: { type: "string", default: "20000" },
    faults: { type: "string", default: "8" },
    "soak-seconds": { type: "string", default: "60" },
    "soak-clients": { type: "string", default: "16" },
    "soak-rounds": { type: "string", default: "3" },
    seed: { type: "string", default: "1" },
    "no-anchor": { type: "boolean", default: false },
  },
});

function count(name: string, raw: string, min: number): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) {
    console.error(`--${name} must be a whole number >= ${min}, got ${raw}.`);
    process.exit(2);
  }
  return value;
}

const result = await runCampaign({
  fuzz: count("fuzz", values.fuzz, 0),
  faults: count("faults", values.faults, 0),
  soakSeconds: count("soak-seconds", values["soak-seconds"], 1),
  soakClients: count("soak-clients", values["soak-clients"], 1),
  soakRounds: count("soak-rounds", values["soak-rounds"], 1),
  seed: count("seed", values.seed, 0),
  anchor: !values["no-anchor"],
  log: (line) => console.error(line),
});
console.log(result.lines.join("\n"));
process.exit(result.goals.every((goal) => goal.met) ? 0 : 1);
