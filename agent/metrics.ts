// Owns the agent's Prometheus counters: requests by route and status, bytes in and out, errors by code.
// Exposed at /metrics only with the configured bearer token (documented in agent/README.md).

export class Metrics {
  readonly #requests = new Map<string, number>();
  readonly #errors = new Map<string, number>();
  #bytesIn = 0;
  #bytesOut = 0;

  request(route: string, status: number): void {
    const key = `route="${route}",status="${status}"`;
    this.#requests.set(key, (this.#requests.get(key) ?? 0) + 1);
  }

  error(code: string): void {
    this.#errors.set(code, (this.#errors.get(code) ?? 0) + 1);
  }

  bytesIn(count: number): void {
    this.#bytesIn += count;
  }

  bytesOut(count: number): void {
    this.#bytesOut += count;
  }

  render(): string {
    const lines = [
      "# HELP flotilla_agent_requests_total HTTP requests handled, by route and status.",
      "# TYPE flotilla_agent_requests_total counter",
      ...[...this.#requests].map(([labels, n]) => `flotilla_agent_requests_total{${labels}} ${n}`),
      "# HELP flotilla_agent_errors_total Refusals and failures, by error code.",
      "# TYPE flotilla_agent_errors_total counter",
      ...[...this.#errors].map(([code, n]) => `flotilla_agent_errors_total{code="${code}"} ${n}`),
      "# HELP flotilla_agent_bytes_in_total Object and part bytes received.",
      "# TYPE flotilla_agent_bytes_in_total counter",
      `flotilla_agent_bytes_in_total ${this.#bytesIn}`,
      "# HELP flotilla_agent_bytes_out_total Object bytes sent.",
      "# TYPE flotilla_agent_bytes_out_total counter",
      `flotilla_agent_bytes_out_total ${this.#bytesOut}`,
    ];
    return `${lines.join("\n")}\n`;
  }
}

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
