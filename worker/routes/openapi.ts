// Owns GET /api/v1/openapi.json: an OpenAPI 3.1 document generated from the route table itself (the
// same zod schemas that validate requests and responses), so the docs cannot drift from the code.
import { z } from "zod";
import { errorEnvelopeSchema } from "../../shared/errors.ts";
import type { RawAnswer } from "../api/wire.ts";
import { primaryOrigin } from "../http/origin.ts";
import { defineRoute, type Route } from "../http/route.ts";

type JsonSchema = Record<string, unknown>;

/**
 * Named schemas (zod `.meta({ id })` in worker/api/) collected while the document is built: each
 * becomes one entry of components.schemas and every use a $ref to it. A schema that reads differently
 * as a request (defaults, transforms) than as a response gets a second entry, `<id>Input`.
 */
function strip(def: JsonSchema): JsonSchema {
  const { id: _id, ...body } = def;
  return body;
}

class Components {
  readonly schemas: Record<string, JsonSchema> = {};

  readonly convert = (schema: z.ZodType, io: "input" | "output"): JsonSchema => {
    const {
      $schema: _ignored,
      $defs,
      ...root
    } = z.toJSONSchema(schema, {
      io,
      unrepresentable: "any",
    }) as JsonSchema & { $defs?: Record<string, JsonSchema> };
    // Refs point at ids first; a def that lands under another name is pointed at in a second pass.
    const names = new Map<string, string>();
    const rename = (value: unknown): unknown => {
      if (Array.isArray(value)) return value.map(rename);
      if (value === null || typeof value !== "object") return value;
      const out: Record<string, unknown> = {};
      for (const [key, inner] of Object.entries(value)) {
        if (key === "$ref" && typeof inner === "string" && inner.startsWith("#/$defs/")) {
          const id = inner.slice("#/$defs/".length);
          out[key] = `#/components/schemas/${names.get(id) ?? id}`;
        } else out[key] = rename(inner);
      }
      return out;
    };
    const defs = Object.entries($defs ?? {});
    for (const [id, def] of defs) names.set(id, this.place(id, rename(def) as JsonSchema, io));
    if ([...names].some(([id, name]) => id !== name)) {
      for (const [id, def] of defs) this.schemas[names.get(id) ?? id] = strip(rename(def) as JsonSchema);
    }
    const body = rename(root) as JsonSchema;
    if (typeof body.id === "string") return { $ref: `#/components/schemas/${this.place(body.id, body, io)}` };
    return body;
  };

  /**
   * A request or response body by reference: its own id when the schema has one, otherwise a
   * component named after the operation (`<OperationId>Request`, `<OperationId>Response`), so every
   * body a client sends or reads has a named type.
   */
  body(schema: z.ZodType, io: "input" | "output", name: string): JsonSchema {
    const converted = this.convert(schema, io);
    if (typeof converted.$ref === "string") return converted;
    return { $ref: `#/components/schemas/${this.place(name, converted, io)}` };
  }

  private place(id: string, def: JsonSchema, io: "input" | "output"): string {
    const body = strip(def);
    const text = JSON.stringify(body);
    const existing = this.schemas[id];
    if (existing === undefined || JSON.stringify(existing) === text) {
      this.schemas[id] = body;
      return id;
    }
    const alternate = `${id}${io === "input" ? "Input" : "Output"}`;
    this.schemas[alternate] = body;
    return alternate;
  }
}

function shapeOf(schema: z.ZodType | undefined): Record<string, z.ZodType> {
  return schema instanceof z.ZodObject ? (schema.shape as Record<string, z.ZodType>) : {};
}

type SchemaOf = Components["convert"];

function parameters(route: Route, jsonSchema: SchemaOf): JsonSchema[] {
  const pathParams = Object.entries(shapeOf(route.params)).map(([name, schema]) => ({
    name,
    in: "path",
    required: true,
    schema: jsonSchema(schema, "input"),
  }));
  const queryParams = Object.entries(shapeOf(route.query)).map(([name, schema]) => ({
    name,
    in: "query",
    required: !schema.safeParse(undefined).success,
    schema: jsonSchema(schema, "input"),
  }));
  return [...pathParams, ...queryParams];
}

const errorRef = { $ref: "#/components/schemas/ErrorEnvelope" };
const errorResponse = (description: string) => ({
  description,
  content: { "application/json": { schema: errorRef } },
});

/** The answers a route declares raw (bytes, text, redirects), grouped by status as OpenAPI wants them. */
function rawResponses(answers: readonly RawAnswer[], jsonSchema: SchemaOf): Record<string, unknown> {
  const byStatus = new Map<number, RawAnswer[]>();
  for (const answer of answers) byStatus.set(answer.status, [...(byStatus.get(answer.status) ?? []), answer]);
  const out: Record<string, unknown> = {};
  for (const [status, group] of byStatus) {
    const content: Record<string, unknown> = {};
    const headers: Record<string, unknown> = {};
    for (const answer of group) {
      if (answer.contentType) {
        content[answer.contentType] = {
          schema: answer.schema
            ? answer.schema === errorEnvelopeSchema
              ? errorRef
              : jsonSchema(answer.schema, "output")
            : { type: "string", format: "binary" },
        };
      }
      for (const [name, description] of Object.entries(answer.headers ?? {}))
        headers[name] = { description, schema: { type: "string" } };
    }
    out[String(status)] = {
      description: group.map((answer) => answer.description).join("; or "),
      ...(Object.keys(headers).length > 0 ? { headers } : {}),
      ...(Object.keys(content).length > 0 ? { content } : {}),
    };
  }
  return out;
}

function operationId(route: Route): string {
  return `${route.method.toLowerCase()}${route.path.replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ?? "").toUpperCase())}`;
}

function operation(route: Route, components: Components): JsonSchema {
  const jsonSchema = components.convert;
  const id = operationId(route);
  const typeName = id.charAt(0).toUpperCase() + id.slice(1);
  const success = route.raw
    ? rawResponses(route.raw, jsonSchema)
    : {
        [String(route.status)]: route.response
          ? {
              description: "Success",
              content: {
                "application/json": {
                  schema: components.body(route.response, "output", `${typeName}Response`),
                },
              },
            }
          : { description: "Success, no content" },
      };
  const responses: Record<string, unknown> = {
    ...success,
    // Every route can refuse (400 on a bad parameter or body, 404, 405 on another method, 429, ...).
    "4XX": errorResponse("Refused: the envelope's code says why (bad_request, not_found, ...)"),
    default: errorResponse("Error envelope (code, message, request_id, details)"),
  };
  if (route.access !== "public") responses["401"] = errorResponse("Not logged in, or the session expired");
  if (route.access === "admin") responses["403"] = errorResponse("Needs an administrator");
  const op: JsonSchema = {
    operationId: id,
    summary: route.summary,
    tags: [route.tag],
    "x-access": route.access,
    security: route.access === "public" ? [] : [{ bearerAuth: [] }, { cookieAuth: [] }],
    parameters: parameters(route, jsonSchema),
    responses,
  };
  const headerParams = Object.entries(route.requestHeaders ?? {}).map(([name, header]) => ({
    name,
    in: "header",
    required: header.required ?? false,
    description: header.description,
    schema: { type: "string" },
  }));
  (op.parameters as JsonSchema[]).push(...headerParams);
  if (route.rawBody) {
    op.requestBody = {
      required: true,
      description: route.rawBody.description,
      content: { [route.rawBody.contentType]: { schema: { type: "string", format: "binary" } } },
    };
  }
  if (route.body) {
    op.requestBody = {
      required: true,
      content: { "application/json": { schema: components.body(route.body, "input", `${typeName}Request`) } },
    };
  }
  return op;
}

/** `servers` is the primary answering the request, so a client generated from it talks to this one. */
export function buildOpenApiDocument(routes: readonly Route[], origin?: string): JsonSchema {
  const components = new Components();
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = route.path.replace(/:(\w+)/g, "{$1}");
    paths[path] ??= {};
    paths[path][route.method.toLowerCase()] = operation(route, components);
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Flotilla primary API",
      version: "1",
      description: "JSON API of the Flotilla primary. Errors always use the ErrorEnvelope shape.",
    },
    servers: [{ url: origin ?? "/", description: "This primary" }],
    paths,
    components: {
      schemas: { ErrorEnvelope: components.convert(errorEnvelopeSchema, "output"), ...components.schemas },
      securitySchemes: {
        bearerAuth: {
          type: "http",
          scheme: "bearer",
          description: "API token from POST /api/v1/auth/login (client api) or /api/v1/auth/tokens",
        },
        cookieAuth: { type: "apiKey", in: "cookie", name: "flotilla_session" },
      },
    },
  };
}

/** The document route; `getRoutes` is read lazily because the table includes this route itself. */
export function openApiRoutes(getRoutes: () => readonly Route[]): Route[] {
  // One document per origin it was asked at (PUBLIC_URL makes that one), built once per isolate.
  const cached = new Map<string, string>();
  return [
    defineRoute({
      method: "GET",
      path: "/api/v1/openapi.json",
      access: "public",
      summary: "This API's OpenAPI 3.1 document",
      tag: "meta",
      raw: [{ status: 200, description: "The OpenAPI 3.1 document", contentType: "application/json" }],
      handler: async ({ request, services }) => {
        const origin = primaryOrigin(services, request);
        const document = cached.get(origin) ?? JSON.stringify(buildOpenApiDocument(getRoutes(), origin));
        cached.set(origin, document);
        return new Response(document, { headers: { "content-type": "application/json; charset=utf-8" } });
      },
    }),
  ];
}
