// Owns the agent's Prometheus metrics, kept in one prom-client registry per agent: requests by route and
// status with their durations, bytes in and out, errors by code, free/total bytes of each applied ingress
// target, open multipart sessions, build info, and the process and Node runtime metrics. Served at
// /metrics only with the configured bearer token (names and meaning in agent/README.md).
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { IngressTargetInfo } from "../shared/protocol/schemas.ts";

/** What the scrape-time gauges read: the targets as the capabilities document reports them. */
export interface MetricSources {
  targets(): Promise<IngressTargetInfo[]>;
  /** The directory holding one entry per open multipart session. */
  multipartDir: string;
  version: string;
}

// Object transfers of large parts take minutes; control calls take milliseconds.
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

export class Metrics {
  readonly #registry = new Registry();
  readonly #requests: Counter<"route" | "status">;
  readonly #durations: Histogram<"route" | "status">;
  readonly #errors: Counter<"code">;
  readonly #bytesIn: Counter;
  readonly #bytesOut: Counter;

  constructor(sources: MetricSources) {
    const registers = [this.#registry];
    this.#requests = new Counter({
      name: "flotilla_agent_requests_total",
      help: "HTTP requests handled, by route and status.",
      labelNames: ["route", "status"],
      registers,
    });
    this.#durations = new Histogram({
      name: "flotilla_agent_request_duration_seconds",
      help: "Time from a request's arrival until its response head is ready, by route and status; uploads include reading the body, a download's body streams after it.",
      labelNames: ["route", "status"],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.#errors = new Counter({
      name: "flotilla_agent_errors_total",
      help: "Refusals and failures, by error code.",
      labelNames: ["code"],
      registers,
    });
    this.#bytesIn = new Counter({
      name: "flotilla_agent_bytes_in_total",
      help: "Object and part bytes received.",
      registers,
    });
    this.#bytesOut = new Counter({
      name: "flotilla_agent_bytes_out_total",
      help: "Object bytes sent.",
      registers,
    });
    const info = new Gauge({
      name: "flotilla_agent_info",
      help: "Always 1; the agent's version as a label.",
      labelNames: ["version"],
      registers,
    });
    info.set({ version: sources.version }, 1);
    const capacity = (name: string, help: string, pick: (t: IngressTargetInfo) => number | null) =>
      new Gauge({
        name,
        help,
        labelNames: ["target", "driver"],
        registers,
        async collect() {
          this.reset();
          for (const target of await sources.targets()) {
            const value = pick(target);
            if (value !== null) this.set({ target: target.key, driver: target.driver }, value);
          }
        },
      });
    capacity(
      "flotilla_agent_ingress_free_bytes",
      "Bytes available to the agent on each applied ingress target that reports capacity (local targets).",
      (t) => t.free_bytes,
    );
    capacity(
      "flotilla_agent_ingress_total_bytes",
      "Size of the filesystem of each applied ingress target that reports capacity (local targets).",
      (t) => t.total_bytes,
    );
    new Gauge({
      name: "flotilla_agent_multipart_sessions_open",
      help: "Multipart upload sessions created and neither completed nor aborted yet.",
      registers,
      async collect() {
        const entries = await readdir(sources.multipartDir).catch(() => [] as string[]);
        this.set(entries.filter((name) => name.startsWith("mp_")).length);
      },
    });
    collectDefaultMetrics({ register: this.#registry });
  }

  request(route: string, status: number, seconds: number): void {
    const labels = { route, status: String(status) };
    this.#requests.inc(labels);
    this.#durations.observe(labels, seconds);
  }

  error(code: string): void {
    this.#errors.inc({ code });
  }

  bytesIn(count: number): void {
    this.#bytesIn.inc(count);
  }

  bytesOut(count: number): void {
    this.#bytesOut.inc(count);
  }

  get contentType(): string {
    return this.#registry.contentType;
  }

  render(): Promise<string> {
    return this.#registry.metrics();
  }
}

/** The directory the multipart book keeps its sessions in (see multipart.ts). */
export const multipartDirOf = (dataDir: string) => join(dataDir, "multipart");

/** Counts the bytes of a stream as they pass. */
export function counting(
  stream: ReadableStream<Uint8Array>,
  add: (n: number) => void,
): ReadableStream<Uint8Array> {
  return stream.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        add(chunk.byteLength);
        controller.enqueue(chunk);
      },
    }),
  );
}
