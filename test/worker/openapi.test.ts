import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { routes } from "../../worker/index.ts";
import { createHarness, type Harness } from "../support/primary.ts";

interface Operation {
  operationId: string;
  "x-access": string;
  security: unknown[];
  parameters: { name: string; in: string; required: boolean }[];
  requestBody?: {
    content: { "application/json": { schema: { type?: string; properties?: Record<string, unknown> } } };
  };
  responses: Record<string, { content?: { "application/json": { schema: Record<string, unknown> } } }>;
}
type Doc = {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown> };
};

describe("OpenAPI document", () => {
  let h: Harness;
  let doc: Doc;
  beforeAll(async () => {
    h = await createHarness();
    const response = await h.call("GET", "/api/v1/openapi.json");
    expect(response.status).toBe(200);
    doc = (await response.json()) as Doc;
  });
  afterAll(async () => {
    await h.close();
  });

  it("is OpenAPI 3.1 with the error envelope as a component", () => {
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.components.schemas.ErrorEnvelope).toMatchObject({ type: "object" });
  });

  it("documents every route of the table, with its access level", () => {
    for (const route of routes) {
      const op = doc.paths[route.path.replace(/:(\w+)/g, "{$1}")]?.[route.method.toLowerCase()];
      expect(op, `${route.method} ${route.path}`).toBeDefined();
      expect(op?.["x-access"]).toBe(route.access);
      expect(op?.security.length === 0).toBe(route.access === "public");
    }
    const documented = Object.values(doc.paths).reduce((n, methods) => n + Object.keys(methods).length, 0);
    expect(documented).toBe(routes.length);
  });

  it("derives bodies, parameters and responses from the zod schemas", () => {
    const create = doc.paths["/api/v1/admin/users"]?.post;
    // Every body is a named type: an unnamed one is a component named after its operation.
    const schema = create?.requestBody?.content["application/json"].schema as unknown as
      | { $ref?: string }
      | undefined;
    const ref = schema?.$ref;
    expect(ref).toBe("#/components/schemas/PostApiV1AdminUsersRequest");
    const schemas = (doc as unknown as { components: { schemas: Record<string, { properties?: object }> } })
      .components.schemas;
    const body = schemas.PostApiV1AdminUsersRequest;
    expect(Object.keys(body?.properties ?? {})).toEqual(
      expect.arrayContaining(["username", "password", "role"]),
    );
    expect(Object.keys(create?.responses ?? {})).toEqual(
      expect.arrayContaining(["201", "401", "403", "default"]),
    );
    const edit = doc.paths["/api/v1/admin/users/{id}"]?.patch;
    expect(edit?.parameters).toContainEqual(
      expect.objectContaining({ name: "id", in: "path", required: true }),
    );
    const resolve = doc.paths["/api/v1/admin/policy-resolution"]?.get;
    expect(resolve?.parameters).toContainEqual(
      expect.objectContaining({ name: "size", in: "query", required: true }),
    );
    expect(resolve?.parameters).toContainEqual(
      expect.objectContaining({ name: "space", in: "query", required: false }),
    );
  });

  it("gives every JSON request and response body a named component", () => {
    const inline: string[] = [];
    type Content = Record<string, { schema?: { $ref?: string } }>;
    for (const [path, methods] of Object.entries(doc.paths)) {
      // The document itself is described as what it is, an OpenAPI document (any JSON object).
      if (path === "/api/v1/openapi.json") continue;
      for (const [method, op] of Object.entries(methods as Record<string, unknown>)) {
        const { requestBody, responses } = op as {
          requestBody?: { content: Content };
          responses: Record<string, { content?: Content }>;
        };
        const bodies = [
          ["request", requestBody?.content],
          ...Object.entries(responses).map(([status, r]) => [status, r.content] as const),
        ] as const;
        for (const [what, content] of bodies) {
          const schema = content?.["application/json"]?.schema;
          if (schema && !schema.$ref) inline.push(`${method.toUpperCase()} ${path} ${what}`);
        }
      }
    }
    expect(inline).toEqual([]);
  });

  it("names the primary it came from as its server", () => {
    expect((doc as unknown as { servers: { url: string }[] }).servers).toEqual([
      { url: "http://primary.test", description: "This primary" },
    ]);
  });

  it("describes downloads as bytes with their statuses and headers", () => {
    const download = doc.paths["/api/v1/spaces/{space}/files/{id}/content"]?.get as unknown as {
      parameters: { name: string; in: string }[];
      responses: Record<string, { headers?: Record<string, unknown>; content?: Record<string, unknown> }>;
    };
    expect(Object.keys(download.responses)).toEqual(
      expect.arrayContaining(["200", "206", "302", "304", "416", "401", "default"]),
    );
    expect(download.responses["200"]?.content).toHaveProperty("application/octet-stream");
    // With ?redirect=false a presigned policy answers the URL as JSON under the same status.
    expect(download.responses["200"]?.content).toHaveProperty("application/json");
    expect(download.responses["206"]?.headers).toHaveProperty("Content-Range");
    expect(download.responses["200"]?.headers).toHaveProperty("Repr-Digest");
    expect(download.responses["302"]?.headers).toHaveProperty("Location");
    for (const name of ["Range", "If-None-Match", "If-Range"])
      expect(download.parameters).toContainEqual(expect.objectContaining({ name, in: "header" }));
    const preview = doc.paths["/api/v1/spaces/{space}/files/{id}/preview"]?.get;
    expect(Object.keys(preview?.responses ?? {})).not.toContain("302");
  });

  it("describes a relayed part as a binary body with its digest headers", () => {
    const part = doc.paths["/api/v1/uploads/{id}/parts/{n}"]?.put as unknown as {
      parameters: { name: string; in: string }[];
      requestBody: { content: Record<string, { schema: unknown }> };
    };
    expect(part.requestBody.content["application/octet-stream"]?.schema).toEqual({
      type: "string",
      format: "binary",
    });
    for (const name of ["Content-Length", "X-Flotilla-Sha256", "Content-Digest"])
      expect(part.parameters).toContainEqual(expect.objectContaining({ name, in: "header" }));
  });

  it("names each resource once in components and refers to it", () => {
    for (const name of [
      "Node",
      "File",
      "Folder",
      "Upload",
      "StoragePolicy",
      "PolicyGroup",
      "Share",
      "Timestamp",
    ])
      expect(doc.components.schemas, name).toHaveProperty(name);
    const text = JSON.stringify(doc);
    expect(text).toContain('"$ref":"#/components/schemas/Node"');
    expect(text).not.toContain("#/$defs/");
    // The date-time pattern lives in Timestamp, not inlined at every timestamp field.
    const pattern = JSON.stringify((doc.components.schemas.Timestamp as { pattern: string }).pattern);
    expect(text.split(pattern).length - 1).toBe(1);
  });

  it("has unique operation ids", () => {
    const ids = Object.values(doc.paths).flatMap((methods) =>
      Object.values(methods).map((op) => op.operationId),
    );
    expect(new Set(ids).size).toBe(ids.length);
  });
});
