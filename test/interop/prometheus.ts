// Owns reading Prometheus text exposition in tests with the Prometheus project's own parser
// (client_python's text_string_to_metric_families, Debian package python3-prometheus-client, which
// `npm run test:interop` needs), so a test checks what a scraper reads, not what our code meant to write.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: string;
  help: string;
  samples: Sample[];
}

const PYTHON = "/usr/bin/python3";
const PARSER = `
import json, math, sys
from prometheus_client.parser import text_string_to_metric_families
families = []
for f in text_string_to_metric_families(sys.stdin.read()):
    families.append({"name": f.name, "type": f.type, "help": f.documentation, "samples": [
        {"name": s.name, "labels": s.labels, "value": s.value if math.isfinite(s.value) else str(s.value)}
        for s in f.samples]})
json.dump(families, sys.stdout)
`;

/** Parses an exposition; rejects with the parser's own error when the text is not valid. */
export async function parseExposition(text: string): Promise<Map<string, Family>> {
  if (!existsSync(PYTHON)) throw new Error(`${PYTHON} is needed to parse Prometheus text (Debian python3).`);
  const child = spawn(PYTHON, ["-c", PARSER], { stdio: ["pipe", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.on("data", (chunk: Buffer) => {
    out += chunk.toString("utf8");
  });
  child.stderr.on("data", (chunk: Buffer) => {
    err += chunk.toString("utf8");
  });
  child.stdin.end(text);
  const code = await new Promise<number | null>((done) => child.once("close", done));
  if (code !== 0) {
    const missing = err.includes("No module named 'prometheus_client'");
    throw new Error(
      missing
        ? "The Prometheus text parser is missing: install the Debian package python3-prometheus-client."
        : `Prometheus' parser refused the exposition: ${err.trim()}`,
    );
  }
  const families = JSON.parse(out) as Family[];
  for (const f of families) for (const s of f.samples) s.value = Number(s.value);
  return new Map(families.map((f) => [f.name, f]));
}

/** The family of that name (counters without their _total suffix); throws naming what is there. */
export function family(families: Map<string, Family>, name: string): Family {
  const found = families.get(name);
  if (!found) throw new Error(`no metric family ${name} (found: ${[...families.keys()].join(", ")})`);
  return found;
}

/** The value of the one sample with this name whose labels include `labels`; throws when absent. */
export function value(
  families: Map<string, Family>,
  sampleName: string,
  labels: Record<string, string> = {},
) {
  for (const f of families.values()) {
    const found = f.samples.find(
      (s) => s.name === sampleName && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
    );
    if (found) return found.value;
  }
  throw new Error(`no sample ${sampleName}${JSON.stringify(labels)}`);
}
