// Generates TypeScript types for the primary's API from its live OpenAPI document
// (GET /api/v1/openapi.json), for openapi-fetch or any client that reads `paths`:
//   npm run client:types -- http://127.0.0.1:8787 flotilla-api.d.ts
// The first argument is the primary's base URL or a saved document; the second the output file.
// Binary bodies (format: binary) become Blob | Uint8Array | ReadableStream, what fetch sends and
// what a download answers.
import { writeFile } from "node:fs/promises";
import { pathToFileURL } from "node:url";
import openapiTS from "openapi-typescript";

export const BINARY_TYPE = "Blob | Uint8Array | ReadableStream<Uint8Array>";

/** The document's types as one .d.ts source text. */
export async function generateClientTypes(document: string | URL | object): Promise<string> {
  return openapiTS(document as Parameters<typeof openapiTS>[0], {
    transform: (schema) => (schema.format === "binary" ? BINARY_TYPE : undefined),
  });
}

/** The document a primary serves, or a saved one (a path or file: URL). */
export function documentSource(source: string): URL {
  if (/^https?:\/\//.test(source)) return new URL("/api/v1/openapi.json", source);
  return source.startsWith("file:") ? new URL(source) : pathToFileURL(source);
}

if (import.meta.main) {
  const [source, out] = process.argv.slice(2);
  if (!source || !out) {
    console.error("usage: npm run client:types -- <primary base URL | openapi.json> <out.d.ts>");
    process.exit(2);
  }
  await writeFile(out, await generateClientTypes(documentSource(source)));
  console.log(`wrote ${out}`);
}
