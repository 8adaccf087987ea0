// A follower node's events: a routine success that repeats the last event of its kind extends that
// event's run (last time, count) instead of adding a row, so a probe and a binding push every minute
// never push a failure off the node's page; failures and changes always add a row, and the events API
// finds them by level and kind, a page at a time. Events are recorded as the probe and pushes do,
// against the real primary over HTTP and its libSQL database.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nodeDetailsSchema, nodeEventListSchema, nodeSchema } from "../../../worker/api/nodes.ts";
import { recordEvent } from "../../../worker/followers/events.ts";
import { type Primary, startPrimary } from "../../support/http-primary.ts";

describe("follower node events", () => {
  let primary: Primary;
  let nodeId: string;
  const events = (query = "") => `/api/v1/admin/nodes/${nodeId}/events${query}`;
  const record = (level: "info" | "warn" | "error", kind: string, message: string) =>
    recordEvent(primary.services(), nodeId, level, kind, message);

  beforeAll(async () => {
    primary = await startPrimary();
    nodeId = (await primary.ok(nodeSchema, "POST", "/api/v1/admin/nodes", { name: "Events node" })).id;
  });
  afterAll(async () => {
    await primary?.close();
  });

  it("keeps a run of the same routine success as one event with its count and first and last time", async () => {
    for (let i = 0; i < 30; i++) {
      await record("info", "probe", "protocol v2, server 0.1.0");
      await record("info", "binding_push", "enabled=true");
    }
    const details = await primary.ok(nodeDetailsSchema, "GET", `/api/v1/admin/nodes/${nodeId}`);
    expect(details.recent_events.map((e) => [e.kind, e.repeats])).toEqual([
      ["binding_push", 30],
      ["probe", 30],
    ]);
    const probe = details.recent_events.find((e) => e.kind === "probe")!;
    expect(Date.parse(probe.first_at)).toBeLessThan(Date.parse(probe.at));
  });

  it("adds a row for a failure and for the success after it, and the failure stays in view", async () => {
    await record("error", "transfer", "object_put: follower_unreachable: connection refused");
    await record("error", "probe", "follower_unreachable: connection refused");
    await record("info", "probe", "protocol v2, server 0.1.0");
    for (let i = 0; i < 40; i++) await record("info", "probe", "protocol v2, server 0.1.0");
    const { recent_events } = await primary.ok(nodeDetailsSchema, "GET", `/api/v1/admin/nodes/${nodeId}`);
    expect(recent_events.map((e) => [e.level, e.kind, e.repeats])).toEqual([
      ["info", "probe", 41],
      ["error", "probe", 1],
      ["error", "transfer", 1],
      ["info", "binding_push", 30],
      ["info", "probe", 30],
    ]);
  });

  it("adds a row when a routine success says something new (a new server version)", async () => {
    await record("info", "probe", "protocol v2, server 0.2.0");
    const { items } = await primary.ok(nodeEventListSchema, "GET", events("?kind=probe&limit=2"));
    expect(items.map((e) => [e.message, e.repeats])).toEqual([
      ["protocol v2, server 0.2.0", 1],
      ["protocol v2, server 0.1.0", 41],
    ]);
  });

  it("finds the node's problems only, page by page", async () => {
    for (let i = 0; i < 5; i++) await record("warn", "ingress_push", `default r${i}: follower_timeout`);
    const first = await primary.ok(nodeEventListSchema, "GET", events("?level=warn,error&limit=4"));
    expect(first.items.every((e) => e.level !== "info")).toBe(true);
    expect(first.items).toHaveLength(4);
    expect(first.next_before).toBe(first.items.at(-1)!.at);
    const second = await primary.ok(
      nodeEventListSchema,
      "GET",
      events(`?level=warn,error&limit=4&before=${encodeURIComponent(first.next_before!)}`),
    );
    expect(second.items.map((e) => e.kind)).toEqual(["ingress_push", "probe", "transfer"]);
    expect(second.next_before).toBeNull();
    const errors = await primary.ok(nodeEventListSchema, "GET", events("?level=error"));
    expect(errors.items.map((e) => e.kind)).toEqual(["probe", "transfer"]);
  });

  it("refuses an unknown level with validation_failed and an unknown node with not_found", async () => {
    expect(await primary.fail("GET", events("?level=debug"))).toMatchObject({
      status: 400,
      code: "validation_failed",
    });
    expect(await primary.fail("GET", "/api/v1/admin/nodes/nd_missing/events")).toMatchObject({
      status: 404,
      code: "not_found",
    });
  });

  it("is for admins only", async () => {
    expect(await primary.fail("GET", events(), undefined, { token: null })).toMatchObject({ status: 401 });
    expect(await primary.fail("GET", events(), undefined, { token: primary.userToken })).toMatchObject({
      status: 403,
    });
  });
});
