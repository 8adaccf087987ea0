// The primary's /api/v1/admin/metrics as a Prometheus scraper reads it (parsed by the Prometheus
// client_python parser): per follower node its enabled state, enrollment, protocol and agent version,
// last probe result and age and capacity per ingress target; per storage policy its files, bytes,
// uploads in flight and owed cleanups. The state is seeded into a real libSQL database.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHarness, type Harness, seedUser } from "../support/primary.ts";
import { type SeededMetrics, seedMetricsState } from "../support/primary-metrics.ts";
import { family, parseExposition, value } from "./prometheus.ts";

describe("primary /api/v1/admin/metrics", () => {
  let h: Harness;
  let seeded: SeededMetrics;
  let families: Awaited<ReturnType<typeof parseExposition>>;

  beforeAll(async () => {
    h = await createHarness();
    seeded = await seedMetricsState(h);
    const { token } = await seedUser(h, "admin");
    const response = await h.call("GET", "/api/v1/admin/metrics", { token });
    expect(response.status).toBe(200);
    families = await parseExposition(await response.text());
  });
  afterAll(async () => {
    await h.close();
  });

  it("types every family as a gauge with help text", () => {
    for (const name of [
      "flotilla_primary_node_info",
      "flotilla_primary_node_enabled",
      "flotilla_primary_node_probe_ok",
      "flotilla_primary_node_probe_age_seconds",
      "flotilla_primary_node_good_probe_age_seconds",
      "flotilla_primary_node_target_free_bytes",
      "flotilla_primary_node_target_total_bytes",
      "flotilla_primary_policy_info",
      "flotilla_primary_policy_files",
      "flotilla_primary_policy_bytes",
      "flotilla_primary_policy_uploads_in_flight",
      "flotilla_primary_policy_cleanups_owed",
    ]) {
      expect(family(families, name).type, name).toBe("gauge");
      expect(family(families, name).help, name).not.toBe("");
    }
  });

  it("reports each node's state, protocol, probe result and age, and capacity", () => {
    const { healthy, failing, unprobed } = seeded;
    const info = family(families, "flotilla_primary_node_info").samples.find(
      (s) => s.labels.node === healthy.id,
    );
    // The parser reads back the exact admin-chosen name, quote, backslash and newline included.
    expect(info?.labels).toEqual({
      node: healthy.id,
      name: healthy.name,
      enrollment: "completed",
      protocol: "v2",
      server_version: "agent-9.9.9",
    });
    expect(value(families, "flotilla_primary_node_probe_ok", { node: healthy.id })).toBe(1);
    expect(value(families, "flotilla_primary_node_probe_ok", { node: failing.id })).toBe(0);
    const age = value(families, "flotilla_primary_node_probe_age_seconds", { node: healthy.id });
    expect(age).toBeGreaterThanOrEqual(healthy.probedSecondsAgo);
    const goodAge = value(families, "flotilla_primary_node_good_probe_age_seconds", { node: failing.id });
    expect(goodAge).toBeGreaterThanOrEqual(failing.goodProbeSecondsAgo);
    const target = (node: string) => ({ node, target: "default-local" });
    expect(value(families, "flotilla_primary_node_target_free_bytes", target(healthy.id))).toBe(healthy.free);
    expect(value(families, "flotilla_primary_node_target_total_bytes", target(healthy.id))).toBe(
      healthy.total,
    );
    // A failed probe keeps what the last good one said about capacity and protocol.
    expect(value(families, "flotilla_primary_node_target_free_bytes", target(failing.id))).toBe(failing.free);
    expect(value(families, "flotilla_primary_node_enabled", { node: unprobed.id })).toBe(0);
    expect(() => value(families, "flotilla_primary_node_probe_ok", { node: unprobed.id })).toThrow();
  });

  it("counts files, bytes, uploads in flight and owed cleanups per policy", () => {
    const { busy, empty } = seeded;
    expect(value(families, "flotilla_primary_policy_files", { policy: busy.id })).toBe(busy.files);
    expect(value(families, "flotilla_primary_policy_bytes", { policy: busy.id })).toBe(busy.bytes);
    expect(value(families, "flotilla_primary_policy_uploads_in_flight", { policy: busy.id })).toBe(
      busy.uploadsInFlight,
    );
    expect(value(families, "flotilla_primary_policy_cleanups_owed", { policy: busy.id })).toBe(
      busy.cleanupsOwed,
    );
    expect(value(families, "flotilla_primary_policy_info", { policy: busy.id, driver: "primary" })).toBe(1);
    for (const name of ["files", "bytes", "uploads_in_flight", "cleanups_owed"])
      expect(value(families, `flotilla_primary_policy_${name}`, { policy: empty.id }), name).toBe(0);
  });
});
