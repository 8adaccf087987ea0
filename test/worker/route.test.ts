import { describe, expect, it } from "vitest";
import { z } from "zod";
import { createApp } from "../../worker/app.ts";
import { defineRoute } from "../../worker/http/route.ts";
import { createHarness } from "../support/primary.ts";

describe("defineRoute", () => {
  const routes = [
    defineRoute({
      method: "GET",
      path: "/raw",
      access: "public",
      summary: "returns its own Response and sets cookies through ctx.headers",
      tag: "test",
      raw: [{ status: 200, description: "text", contentType: "text/plain" }],
      handler: async ({ headers }) => {
        headers.append("set-cookie", "a=1; Path=/");
        headers.append("set-cookie", "b=2; Path=/");
        headers.set("x-extra", "yes");
        return new Response("raw body", { headers: { "content-type": "text/plain" } });
      },
    }),
    defineRoute({
      method: "GET",
      path: "/leaky",
      access: "public",
      summary: "returns a field its response schema does not declare",
      tag: "test",
      response: z.object({ name: z.string() }),
      handler: async () => ({ name: "visible", secret_enc: "v1.should-not-leak" }) as { name: string },
    }),
    defineRoute({
      method: "GET",
      path: "/wrong",
      access: "public",
      summary: "returns a body that breaks its response schema",
      tag: "test",
      response: z.object({ count: z.number() }),
      handler: async () => ({ count: "many" }) as unknown as { count: number },
    }),
    defineRoute({
      method: "GET",
      path: "/undeclared",
      access: "public",
      summary: "answers its own Response without declaring it",
      tag: "test",
      handler: async () => new Response("bytes"),
    }),
  ];

  it("refuses, as an internal error, a handler's own Response its route does not declare", async () => {
    const h = await createHarness();
    try {
      const logs: string[] = [];
      const app = createApp(routes, { db: h.db, logSink: (r) => logs.push(JSON.stringify(r)) });
      const response = await app.fetch(new Request("http://primary.test/undeclared"), h.env, {
        waitUntil: () => {},
      });
      expect(response.status).toBe(500);
      expect(JSON.parse(await response.text()).error.code).toBe("internal");
      expect(logs.join("\n")).toContain("declares no raw answers");
    } finally {
      await h.close();
    }
  });

  it("keeps ctx.headers, all Set-Cookie values included, on a handler's own Response", async () => {
    const h = await createHarness();
    try {
      const app = createApp(routes, { db: h.db, logSink: () => {} });
      const response = await app.fetch(new Request("http://primary.test/raw"), h.env, {
        waitUntil: () => {},
      });
      expect(await response.text()).toBe("raw body");
      expect(response.headers.getSetCookie()).toEqual(["a=1; Path=/", "b=2; Path=/"]);
      expect(response.headers.get("x-extra")).toBe("yes");
    } finally {
      await h.close();
    }
  });

  it("strips fields the response schema does not declare", async () => {
    const h = await createHarness();
    try {
      const app = createApp(routes, { db: h.db, logSink: () => {} });
      const response = await app.fetch(new Request("http://primary.test/leaky"), h.env, {
        waitUntil: () => {},
      });
      expect(await response.json()).toEqual({ name: "visible" });
    } finally {
      await h.close();
    }
  });

  it("answers a generic 500 when a handler breaks its response schema, logging the cause", async () => {
    const h = await createHarness();
    try {
      const logs: string[] = [];
      const app = createApp(routes, { db: h.db, logSink: (r) => logs.push(JSON.stringify(r)) });
      const response = await app.fetch(new Request("http://primary.test/wrong"), h.env, {
        waitUntil: () => {},
      });
      expect(response.status).toBe(500);
      const text = await response.text();
      expect(JSON.parse(text).error.code).toBe("internal");
      expect(text).not.toContain("many");
      expect(logs.join("\n")).toContain("does not match its schema");
    } finally {
      await h.close();
    }
  });
});
