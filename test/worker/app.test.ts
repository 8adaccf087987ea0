import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { errorEnvelopeSchema } from "../../shared/errors.ts";
import { errorCode } from "../support/envelopes.ts";
import { createHarness, type Harness } from "../support/primary.ts";

describe("primary app core", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  it("answers /health with the database reachable", async () => {
    const response = await h.call("GET", "/health");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ok", database: "ok" });
    expect(response.headers.get("x-request-id")).toMatch(/^[0-9a-f]{32}$/);
  });

  it("marks API JSON no-store and nosniff, on success and on errors", async () => {
    for (const path of ["/health", "/nope"]) {
      const response = await h.call("GET", path);
      expect(response.headers.get("cache-control")).toBe("no-store");
      expect(response.headers.get("x-content-type-options")).toBe("nosniff");
    }
  });

  it("answers HEAD like GET without a body", async () => {
    const response = await h.call("HEAD", "/health");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("application/json");
    expect(await response.text()).toBe("");
  });

  it("gives every response its own request id", async () => {
    const a = await h.call("GET", "/health");
    const b = await h.call("GET", "/health");
    expect(a.headers.get("x-request-id")).not.toBe(b.headers.get("x-request-id"));
  });

  it("answers unknown paths with a not_found envelope carrying the request id", async () => {
    const response = await h.call("GET", "/nope");
    expect(response.status).toBe(404);
    const body = errorEnvelopeSchema.parse(await response.json());
    expect(body.error.code).toBe("not_found");
    expect(body.error.request_id).toBe(response.headers.get("x-request-id"));
  });

  it("answers a known path with the wrong method with 405 and Allow", async () => {
    const response = await h.call("POST", "/health", { body: {} });
    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toBe("GET, HEAD");
    expect(await errorCode(response)).toBe("method_not_allowed");
  });

  it("refuses an invalid environment with config_invalid naming keys but never values", async () => {
    const secretValue = "too-short-secret";
    const response = await h.app.fetch(
      new Request("http://primary.test/health"),
      { ...h.env, FLOTILLA_SECRET: secretValue, LIBSQL_URL: "ftp://nowhere" },
      { waitUntil: () => {} },
    );
    expect(response.status).toBe(500);
    const text = await response.text();
    const body = errorEnvelopeSchema.parse(JSON.parse(text));
    expect(body.error.code).toBe("config_invalid");
    expect(body.error.message).toContain("FLOTILLA_SECRET");
    expect(body.error.message).toContain("LIBSQL_URL");
    expect(text).not.toContain(secretValue);
    expect(text).not.toContain("ftp://nowhere");
  });

  it("refuses an environment without the FILES bucket binding", async () => {
    const { FILES: _files, ...env } = h.env;
    const response = await h.app.fetch(new Request("http://primary.test/health"), env, {
      waitUntil: () => {},
    });
    expect(response.status).toBe(500);
    expect(((await response.json()) as { error: { message: string } }).error.message).toContain("FILES");
  });
});

describe("health with a broken database", () => {
  it("answers 503 database_unavailable and logs the cause, without leaking it", async () => {
    const h = await createHarness();
    try {
      h.client.close();
      const response = await h.call("GET", "/health");
      expect(response.status).toBe(503);
      const text = await response.text();
      expect(JSON.parse(text).error.code).toBe("database_unavailable");
      expect(text).not.toMatch(/sqlite|libsql|closed/i);
      expect(
        h.logs.some((record) => record.level === "error" && record.code === "database_unavailable"),
      ).toBe(true);
    } finally {
      await h.close();
    }
  });
});

describe("logs of failed requests", () => {
  it("never contain a share link's token (it is the link's credential)", async () => {
    const h = await createHarness();
    try {
      h.client.close();
      const token = "shr_secret-token-value-0123456789";
      const response = await h.call("GET", `/api/v1/public/shares/${token}/content`);
      expect(response.status).toBeGreaterThanOrEqual(500);
      await response.body?.cancel();
      const logged = h.logs.filter((record) => record.level === "error");
      expect(logged.map((record) => record.path)).toContain("/api/v1/public/shares/:token/content");
      expect(JSON.stringify(h.logs)).not.toContain(token);
    } finally {
      await h.close();
    }
  });
});

describe("JSON request bodies", () => {
  it("refuses a body over 1 MiB with payload_too_large, even without Content-Length", async () => {
    const h = await createHarness();
    try {
      const big = JSON.stringify({ username: "x".repeat(1024 * 1024 + 10), password: "y" });
      const chunked = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode(big));
          controller.close();
        },
      });
      const response = await h.app.fetch(
        new Request("http://primary.test/api/v1/auth/login", {
          method: "POST",
          headers: { "content-type": "application/json", origin: "http://primary.test" },
          body: chunked,
          duplex: "half",
        } as RequestInit),
        h.env,
        { waitUntil: () => {} },
      );
      expect(response.status).toBe(413);
      expect(await errorCode(response)).toBe("payload_too_large");
      const wrongType = await h.app.fetch(
        new Request("http://primary.test/api/v1/auth/login", {
          method: "POST",
          headers: { "content-type": "text/plain", origin: "http://primary.test" },
          body: "{}",
        }),
        h.env,
        { waitUntil: () => {} },
      );
      expect(await errorCode(wrongType)).toBe("bad_request");
    } finally {
      await h.close();
    }
  });
});
