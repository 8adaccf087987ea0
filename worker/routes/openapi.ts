// Owns GET /api/v1/openapi.json: an OpenAPI 3.1 document generated from the route table itself (the
// same zod schemas that validate requests and responses), so the docs cannot drift from the code.
import { z } from "zod";
import { errorEnvelopeSchema } from "../../shared/errors.ts";
import { defineRoute, type Route } from "../http/route.ts";

type JsonSchema = Record<string, unknown>;

function jsonSchema(schema: z.ZodType, io: "input" | "output"): JsonSchema {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: "any" }) as JsonSchema;
  return rest;
}

function shapeOf(schema: z.ZodType | undefined): Record<string, z.ZodType> {
  return schema instanceof z.ZodObject ? (schema.shape as Record<string, z.ZodType>) : {};
}

function parameters(route: Route): JsonSchema[] {
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

function operation(route: Route): JsonSchema {
  const responses: Record<string, unknown> = {
    [String(route.status)]: route.response
      ? {
          description: "Success",
          content: { "application/json": { schema: jsonSchema(route.response, "output") } },
        }
      : { description: "Success, no content" },
    default: errorResponse("Error envelope (code, message, request_id, details)"),
  };
  if (route.access !== "public") responses["401"] = errorResponse("Not logged in, or the session expired");
  if (route.access === "admin") responses["403"] = errorResponse("Needs an administrator");
  const op: JsonSchema = {
    operationId: `${route.method.toLowerCase()}${route.path.replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ?? "").toUpperCase())}`,
    summary: route.summary,
    tags: [route.tag],
    "x-access": route.access,
    security: route.access === "public" ? [] : [{ bearerAuth: [] }, { cookieAuth: [] }],
    parameters: parameters(route),
    responses,
  };
  if (route.body) {
    op.requestBody = {
      required: true,
      content: { "application/json": { schema: jsonSchema(route.body, "input") } },
    };
  }
  return op;
}

export function buildOpenApiDocument(routes: readonly Route[]): JsonSchema {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = route.path.replace(/:(\w+)/g, "{$1}");
    paths[path] ??= {};
    paths[path][route.method.toLowerCase()] = operation(route);
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Flotilla primary API",
      version: "1",
      description: "JSON API of the Flotilla primary. Errors always use the ErrorEnvelope shape.",
    },
    paths,
    components: {
      schemas: { ErrorEnvelope: jsonSchema(errorEnvelopeSchema, "output") },
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
  let cached: string | undefined;
  return [
    defineRoute({
      method: "GET",
      path: "/api/v1/openapi.json",
      access: "public",
      summary: "This API's OpenAPI 3.1 document",
      tag: "meta",
      status: 200,
      handler: async () => {
        cached ??= JSON.stringify(buildOpenApiDocument(getRoutes()));
        return new Response(cached, { headers: { "content-type": "application/json; charset=utf-8" } });
      },
    }),
  ];
}
