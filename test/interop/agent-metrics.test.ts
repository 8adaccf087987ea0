// The agent's /metrics as a Prometheus scraper reads it (parsed by the Prometheus client_python parser): request
// counts and durations by route, bytes in and out, errors by code, capacity per applied ingress target,
// open multipart sessions, build info and the process/runtime metrics, behind the bearer token.
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inProcessAgent } from "../agent/helpers.ts";
import { bytes, streamOf } from "../support/bytes.ts";
import { type Family, family, parseExposition, value } from "./prometheus.ts";

const TOKEN = "metrics-token-for-the-scraper";

describe("agent /metrics", () => {
  let h: Awaited<ReturnType<typeof inProcessAgent>>;

  beforeAll(async () => {
    h = await inProcessAgent({ metricsToken: TOKEN });
    await h.client.upsertIngressTarget("default-local", {
      driver: "local",
      name: "default-local",
      revision: 1,
      is_default: true,
      base_path: "default",
    });
  });
  afterAll(() => h.cleanup());

  async function scrape(): Promise<Map<string, Family>> {
    const response = await h.fetch("http://agent.test/metrics", {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    return parseExposition(await response.text());
  }

  it("refuses a scrape without the token and answers 404 when no token is configured", async () => {
    expect((await h.fetch("http://agent.test/metrics")).status).toBe(401);
    const wrong = await h.fetch("http://agent.test/metrics", { headers: { authorization: "Bearer nope" } });
    expect(wrong.status).toBe(401);
    const open = await inProcessAgent();
    try {
      expect((await open.fetch("http://agent.test/metrics")).status).toBe(404);
    } finally {
      await open.cleanup();
    }
  });

  it("counts requests, durations, bytes and errors the way the traffic happened", async () => {
    const payload = bytes(300_000, 9);
    const sha256 = createHash("sha256").update(payload).digest("hex");
    await h.client.putObject("files/metered", streamOf(payload), { size: payload.byteLength, sha256 });
    const got = await h.client.getObject("files/metered");
    expect((await got.arrayBuffer()).byteLength).toBe(payload.byteLength);
    const missing = await h.client.getObject("files/absent").catch((error: unknown) => error);
    expect(missing).toMatchObject({ code: "object_not_found" });

    const families = await scrape();
    expect(value(families, "flotilla_agent_requests_total", { route: "object_put", status: "201" })).toBe(1);
    expect(value(families, "flotilla_agent_requests_total", { route: "object_get", status: "200" })).toBe(1);
    expect(value(families, "flotilla_agent_requests_total", { route: "object_get", status: "404" })).toBe(1);
    expect(value(families, "flotilla_agent_bytes_in_total")).toBe(payload.byteLength);
    expect(value(families, "flotilla_agent_bytes_out_total")).toBe(payload.byteLength);
    expect(value(families, "flotilla_agent_errors_total", { code: "object_not_found" })).toBe(1);

    const durations = family(families, "flotilla_agent_request_duration_seconds");
    expect(durations.type).toBe("histogram");
    const put = { route: "object_put", status: "201" };
    const name = "flotilla_agent_request_duration_seconds";
    expect(value(families, `${name}_count`, put)).toBe(1);
    expect(value(families, `${name}_sum`, put)).toBeGreaterThan(0);
    expect(value(families, `${name}_bucket`, { ...put, le: "+Inf" })).toBe(1);
    expect(value(families, `${name}_bucket`, { ...put, le: "600" })).toBe(1);
    // Each route keeps its own series: the 404 GET is not folded into the 200 GET.
    expect(value(families, `${name}_count`, { route: "object_get", status: "404" })).toBe(1);
    expect(family(families, "flotilla_agent_requests").type).toBe("counter");
  });

  it("reports free and total bytes of each applied ingress target", async () => {
    const families = await scrape();
    const labels = { target: "default-local", driver: "local" };
    const free = value(families, "flotilla_agent_ingress_free_bytes", labels);
    const total = value(families, "flotilla_agent_ingress_total_bytes", labels);
    expect(total).toBeGreaterThan(0);
    expect(free).toBeGreaterThan(0);
    expect(free).toBeLessThanOrEqual(total);
    const [listed] = await h.client.listIngressTargets();
    expect(listed?.total_bytes).toBe(total);
    expect(family(families, "flotilla_agent_ingress_free_bytes").type).toBe("gauge");
  });

  it("counts multipart sessions while they are open", async () => {
    const before = value(await scrape(), "flotilla_agent_multipart_sessions_open");
    const first = await h.client.createMultipart({ key: "files/mp-one" });
    const second = await h.client.createMultipart({ key: "files/mp-two" });
    expect(value(await scrape(), "flotilla_agent_multipart_sessions_open")).toBe(before + 2);
    const part = bytes(1000, 3);
    await h.client.putPart(first.upload_id, 1, streamOf(part), { size: part.byteLength });
    await h.client.completeMultipart(first.upload_id, { parts: [{ part_number: 1 }] });
    await h.client.abortMultipart(second.upload_id);
    expect(value(await scrape(), "flotilla_agent_multipart_sessions_open")).toBe(before);
  });

  it("carries the agent's version and the process and Node runtime metrics", async () => {
    const families = await scrape();
    expect(value(families, "flotilla_agent_info", { version: h.agent.services.version })).toBe(1);
    for (const name of [
      "process_cpu_seconds_total",
      "process_resident_memory_bytes",
      "process_start_time_seconds",
      "nodejs_eventloop_lag_seconds",
      "nodejs_heap_size_used_bytes",
      "nodejs_version_info",
    ]) {
      expect(value(families, name)).toBeGreaterThanOrEqual(0);
    }
    expect(value(families, "process_resident_memory_bytes")).toBeGreaterThan(0);
  });
});
