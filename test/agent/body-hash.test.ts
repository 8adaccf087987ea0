// Every signed request's body is held to its signed x-amz-content-sha256 before the agent touches
// anything, whatever the method: JSON bodies, DELETEs and GETs that take none, and streamed PUTs signed
// with a real hash instead of UNSIGNED-PAYLOAD. Over real HTTP (@hono/node-server), where a DELETE
// may carry a body.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listen, type Served } from "../../agent/server.ts";
import { sha256Hex } from "../../shared/crypto.ts";
import { signRequest } from "../../shared/protocol/signing.ts";
import { bytes } from "../support/bytes.ts";
import { inProcessAgent } from "./helpers.ts";

describe("signed payload hashes at the agent, over HTTP", () => {
  let h: Awaited<ReturnType<typeof inProcessAgent>>;
  let served: Served;

  beforeAll(async () => {
    h = await inProcessAgent();
    served = await listen(h.agent.fetch, "127.0.0.1", 0);
    for (const key of ["t", "other"]) {
      await h.client.upsertIngressTarget(key, {
        driver: "local",
        name: key,
        revision: 1,
        is_default: key === "t",
        base_path: key,
      });
    }
  });
  afterAll(async () => {
    await served.close();
    await h.cleanup();
  });

  const credentials = () => ({ keyId: h.issued.key_id, secret: h.issued.secret });

  /** Sends `sent` under a signature computed for `signed` (what a tampering relay would do). */
  async function tampered(method: string, path: string, signed: string, sent: string | null) {
    const headers = await signRequest({ method, path, credentials: credentials(), body: signed });
    const response = await fetch(`${served.url}${path}`, { method, headers, body: sent });
    const text = await response.text();
    return [response.status, text ? (JSON.parse(text) as { error?: { code: string } }).error?.code : null];
  }

  it("refuses a DELETE of an object, a multipart session or an ingress target whose body differs from its signed hash, and deletes nothing", async () => {
    await h.client.putObject("kept", bytes(100), { size: 100 });
    const session = await h.client.createMultipart({ key: "kept-mp" });
    for (const path of [
      "/internal/v2/objects/kept",
      `/internal/v2/multipart/${session.upload_id}`,
      "/internal/v2/ingress-targets/other",
    ]) {
      expect(await tampered("DELETE", path, "", "smuggled"), path).toEqual([401, "auth_body_hash_mismatch"]);
    }
    expect(await h.client.headObject("kept")).toMatchObject({ size: 100 });
    expect(await h.client.listParts(session.upload_id)).toEqual([]);
    expect((await h.client.listIngressTargets()).map((t) => t.key)).toEqual(["other", "t"]);
  });

  it("refuses a GET signed for a body it did not receive", async () => {
    for (const path of [
      "/internal/v2/capabilities",
      "/internal/v2/ingress-targets",
      "/internal/v2/objects/kept",
    ]) {
      expect(await tampered("GET", path, "a body that never came", null), path).toEqual([
        401,
        "auth_body_hash_mismatch",
      ]);
    }
  });

  it("refuses a JSON body that differs from its signed hash", async () => {
    expect(await tampered("POST", "/internal/v2/multipart", '{"key":"a"}', '{"key":"b"}')).toEqual([
      401,
      "auth_body_hash_mismatch",
    ]);
  });

  it("accepts a body on a route that takes none when it is the signed one, and refuses one over the JSON limit", async () => {
    await h.client.putObject("gone", bytes(10), { size: 10 });
    const path = "/internal/v2/objects/gone";
    const headers = await signRequest({ method: "DELETE", path, credentials: credentials(), body: "x" });
    const ok = await fetch(`${served.url}${path}`, { method: "DELETE", headers, body: "x" });
    expect(ok.status).toBe(204);
    expect(await h.client.headObject("gone")).toBeNull();
    const big = "y".repeat(1024 * 1024 + 1);
    expect(await tampered("DELETE", "/internal/v2/objects/kept", big, big)).toEqual([
      413,
      "payload_too_large",
    ]);
    expect(await h.client.headObject("kept")).toMatchObject({ size: 100 });
  });

  it("holds a streamed PUT signed with a real payload hash to it: other bytes are refused and nothing is stored", async () => {
    const data = bytes(1000, 3);
    const path = `/internal/v2/objects/streamed?size=${data.length}`;
    const headers = await signRequest({ method: "PUT", path, credentials: credentials(), body: data });
    const other = bytes(1000, 4);
    const refused = await fetch(`${served.url}${path}`, { method: "PUT", headers, body: other });
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ error: { code: "auth_body_hash_mismatch" } });
    expect(await h.client.headObject("streamed")).toBeNull();
    const again = await signRequest({ method: "PUT", path, credentials: credentials(), body: data });
    const stored = await fetch(`${served.url}${path}`, { method: "PUT", headers: again, body: data });
    expect(stored.status).toBe(201);
    expect(await h.client.headObject("streamed")).toMatchObject({ sha256: await sha256Hex(data) });
    const query = `/internal/v2/objects/streamed2?size=${data.length}&sha256=${await sha256Hex(other)}`;
    const twoDigests = await signRequest({
      method: "PUT",
      path: query,
      credentials: credentials(),
      body: data,
    });
    const conflicting = await fetch(`${served.url}${query}`, {
      method: "PUT",
      headers: twoDigests,
      body: data,
    });
    // Signed for its own bytes, but declared with another digest: no body can be both.
    expect(await conflicting.json()).toMatchObject({ error: { code: "content_digest_mismatch" } });
    expect(await h.client.headObject("streamed2")).toBeNull();
  });
});
