// The primary's /api/v1/admin/metrics in process over a real libSQL database: who may scrape it, the
// exposition's content type, and the lines it carries for seeded nodes and policies. The same endpoint
// is read by Prometheus' own parser in test/interop/primary-metrics.test.ts.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { errorCode } from "../support/envelopes.ts";
import { createHarness, type Harness, seedUser } from "../support/primary.ts";
import { type SeededMetrics, seedMetricsState } from "../support/primary-metrics.ts";

const PATH = "/api/v1/admin/metrics";

describe("primary /api/v1/admin/metrics", () => {
  let h: Harness;
  let seeded: SeededMetrics;
  let adminToken: string;

  beforeAll(async () => {
    h = await createHarness();
    seeded = await seedMetricsState(h);
    adminToken = (await seedUser(h, "admin")).token;
  });
  afterAll(async () => {
    await h.close();
  });

  it("refuses anonymous and non-admin scrapes with the error envelope", async () => {
    const anonymous = await h.call("GET", PATH);
    expect(anonymous.status).toBe(401);
    expect(await errorCode(anonymous)).toBe("unauthorized");
    const user = await h.call("GET", PATH, { token: (await seedUser(h, "user")).token });
    expect(user.status).toBe(403);
    expect(await errorCode(user)).toBe("admin_required");
  });

  it("answers an admin's bearer token with the text exposition format", async () => {
    const response = await h.call("GET", PATH, { token: adminToken });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    expect(response.headers.get("cache-control")).toBe("no-store");
    const lines = (await response.text()).split("\n");
    const has = (line: string) => expect(lines, line).toContain(line);
    has("# TYPE flotilla_primary_node_probe_ok gauge");
    has(`flotilla_primary_node_probe_ok{node="${seeded.healthy.id}"} 1`);
    has(`flotilla_primary_node_probe_ok{node="${seeded.failing.id}"} 0`);
    has(`flotilla_primary_node_enabled{node="${seeded.unprobed.id}"} 0`);
    has(
      `flotilla_primary_node_target_free_bytes{node="${seeded.healthy.id}",target="default-local"} 7000000`,
    );
    has(`flotilla_primary_node_target_total_bytes{node="${seeded.failing.id}",target="default-local"} 5000`);
    has(`flotilla_primary_policy_files{policy="${seeded.busy.id}"} 3`);
    has(`flotilla_primary_policy_bytes{policy="${seeded.busy.id}"} 4350`);
    has(`flotilla_primary_policy_uploads_in_flight{policy="${seeded.busy.id}"} 2`);
    has(`flotilla_primary_policy_cleanups_owed{policy="${seeded.busy.id}"} 3`);
    has(`flotilla_primary_policy_files{policy="${seeded.empty.id}"} 0`);
    // The never-probed node has no probe samples at all rather than a made-up age.
    expect(lines.some((line) => line.includes(`probe_age_seconds{node="${seeded.unprobed.id}"}`))).toBe(
      false,
    );
    // The admin-chosen name with a quote, a backslash and a newline stays inside its one line.
    const info = lines.filter((line) => line.includes(`node="${seeded.healthy.id}",name=`));
    expect(info).toHaveLength(1);
    expect(info[0]).toContain('name="rack \\"b\\"\\\\shelf\\n2 ');
  });
});
