// The agent's front door: every internal route refuses unsigned, tampered, replayed or foreign-key
// requests before touching anything, with the code of the failed check; limits bind before reading.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFollowerClient } from "../../shared/protocol/client.ts";
import { signRequest } from "../../shared/protocol/signing.ts";
import { bytes } from "../support/bytes.ts";
import { errorCode } from "../support/envelopes.ts";
import { inProcessAgent } from "./helpers.ts";

describe("signed requests at the agent", () => {
  let h: Awaited<ReturnType<typeof inProcessAgent>>;

  beforeAll(async () => {
    h = await inProcessAgent({ maxObjectBytes: 1000 });
    await h.client.upsertIngressTarget("t", {
      driver: "local",
      name: "t",
      revision: 1,
      is_default: true,
      base_path: "t",
    });
  });
  afterAll(() => h.cleanup());

  const credentials = () => ({ keyId: h.issued.key_id, secret: h.issued.secret });

  it("refuses missing signatures and foreign keys on every internal route", async () => {
    for (const [method, path] of [
      ["GET", "/internal/v2/capabilities"],
      ["PUT", "/internal/v2/binding"],
      ["GET", "/internal/v2/ingress-targets"],
      ["DELETE", "/internal/v2/ingress-targets/t"],
      ["DELETE", "/internal/v2/objects/a"],
      ["POST", "/internal/v2/multipart"],
      ["POST", "/internal/v2/copy"],
    ] as const) {
      const response = await h.fetch(`http://agent.test${path}`, { method });
      expect([response.status, await errorCode(response)], path).toEqual([401, "auth_missing"]);
    }
    const stranger = createFollowerClient({
      baseUrl: "http://agent.test",
      keyId: "fk_other",
      secret: "x".repeat(40),
      fetch: h.fetch as typeof fetch,
    });
    await expect(stranger.capabilities()).rejects.toMatchObject({ code: "auth_unknown_key", status: 401 });
    const wrongSecret = createFollowerClient({
      baseUrl: "http://agent.test",
      keyId: h.issued.key_id,
      secret: "y".repeat(40),
      fetch: h.fetch as typeof fetch,
    });
    await expect(wrongSecret.deleteIngressTarget("t")).rejects.toMatchObject({ code: "auth_bad_signature" });
    expect((await h.client.listIngressTargets()).map((t) => t.key)).toEqual(["t"]);
  });

  it("refuses a body that differs from its signed hash, and a replayed request", async () => {
    const path = "/internal/v2/binding";
    const signedBody = JSON.stringify({ name: "A", enabled: true });
    const headers = await signRequest({ method: "PUT", path, credentials: credentials(), body: signedBody });
    const tampered = await h.fetch(`http://agent.test${path}`, {
      method: "PUT",
      headers,
      body: JSON.stringify({ name: "A", enabled: false }),
    });
    expect([tampered.status, await errorCode(tampered)]).toEqual([401, "auth_body_hash_mismatch"]);
    expect(h.agent.services.state.current.binding.enabled).toBe(true);
    const fresh = await signRequest({ method: "PUT", path, credentials: credentials(), body: signedBody });
    const ok = await h.fetch(`http://agent.test${path}`, { method: "PUT", headers: fresh, body: signedBody });
    expect(ok.status).toBe(200);
    const replay = await h.fetch(`http://agent.test${path}`, {
      method: "PUT",
      headers: fresh,
      body: signedBody,
    });
    expect([replay.status, await errorCode(replay)]).toEqual([401, "auth_replayed_nonce"]);
    const unsigned = await signRequest({ method: "PUT", path, credentials: credentials(), body: "unsigned" });
    const streamedJson = await h.fetch(`http://agent.test${path}`, {
      method: "PUT",
      headers: unsigned,
      body: signedBody,
    });
    expect(await errorCode(streamedJson)).toBe("auth_body_hash_mismatch");
  });

  it("enforces the size limit and the size query before reading a byte", async () => {
    await expect(h.client.putObject("big", bytes(1001), { size: 1001 })).rejects.toMatchObject({
      code: "object_too_large",
      status: 413,
    });
    const path = "/internal/v2/objects/nosize";
    const headers = await signRequest({ method: "PUT", path, credentials: credentials(), body: "unsigned" });
    const response = await h.fetch(`http://agent.test${path}`, { method: "PUT", headers, body: "abc" });
    expect([response.status, await errorCode(response)]).toEqual([411, "length_required"]);
    expect(await h.client.headObject("big")).toBeNull();
  });

  it("answers unknown paths and methods with the error envelope", async () => {
    const missing = await h.fetch("http://agent.test/nope");
    expect([missing.status, await errorCode(missing)]).toEqual([404, "not_found"]);
    const wrong = await h.fetch("http://agent.test/internal/v2/capabilities", { method: "POST" });
    expect([wrong.status, await errorCode(wrong)]).toEqual([405, "method_not_allowed"]);
    expect(wrong.headers.get("x-request-id")).toMatch(/^req_/);
  });
});
