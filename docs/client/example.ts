// A typed client of the primary's API: types generated from the live OpenAPI document, requests
// made by openapi-fetch. Logs in, uploads a file in relay_stream parts, downloads it and checks its
// SHA-256. Generate the types beside this file first:
//   npm run client:types -- http://127.0.0.1:8787 docs/client/flotilla-api.d.ts
//   FLOTILLA_URL=http://127.0.0.1:8787 FLOTILLA_USERNAME=admin FLOTILLA_PASSWORD=... node docs/client/example.ts
import { createHash } from "node:crypto";
import createClient from "openapi-fetch";
import type { components, paths } from "./flotilla-api.d.ts";

const baseUrl = process.env.FLOTILLA_URL ?? "http://127.0.0.1:8787";
const api = createClient<paths>({ baseUrl });

type ErrorEnvelope = components["schemas"]["ErrorEnvelope"];

function fail(what: string, envelope: ErrorEnvelope | undefined, status: number): never {
  throw new Error(`${what}: ${status} ${envelope?.error.code ?? ""} ${envelope?.error.message ?? ""}`.trim());
}

const login = await api.POST("/api/v1/auth/login", {
  body: {
    username: process.env.FLOTILLA_USERNAME ?? "admin",
    password: process.env.FLOTILLA_PASSWORD ?? "",
    client: "api",
    token_name: "typed client example",
  },
});
if (!login.data?.token) fail("login", login.error, login.response.status);
const headers = { authorization: `Bearer ${login.data.token}` };

const content = new TextEncoder().encode(`Hello from a generated client, ${new Date().toISOString()}\n`);
const sha256 = createHash("sha256").update(content).digest("hex");
const started = await api.POST("/api/v1/spaces/{space}/uploads", {
  headers,
  params: { path: { space: "me" } },
  body: { name: `typed-client-${Date.now()}.txt`, size: content.length, sha256, content_type: "text/plain" },
});
if (!started.data) fail("upload init", started.error, started.response.status);
const upload = started.data;
if (upload.mode !== "relay_stream") throw new Error(`this example relays its parts; got ${upload.mode}`);

for (let n = 1; n <= upload.part_count; n++) {
  const part = content.subarray((n - 1) * upload.chunk_size, n * upload.chunk_size);
  const stored = await api.PUT("/api/v1/uploads/{id}/parts/{n}", {
    headers: { ...headers, "content-type": "application/octet-stream" },
    params: { path: { id: upload.id, n }, header: { "Content-Length": String(part.length) } },
    body: part,
    bodySerializer: (body) => body as Uint8Array<ArrayBuffer>,
  });
  if (!stored.data) fail(`part ${n}`, stored.error, stored.response.status);
}

const completed = await api.POST("/api/v1/uploads/{id}/complete", {
  headers,
  params: { path: { id: upload.id } },
  body: {},
});
if (!completed.data) fail("complete", completed.error, completed.response.status);
const file = completed.data.file;

const downloaded = await api.GET("/api/v1/spaces/{space}/files/{id}/content", {
  headers,
  params: { path: { space: "me", id: file.id } },
  parseAs: "arrayBuffer",
});
if (!downloaded.data) fail("download", downloaded.error, downloaded.response.status);
const got = createHash("sha256").update(new Uint8Array(downloaded.data)).digest("hex");

console.log(
  JSON.stringify({ file_id: file.id, size: file.size, sha256: file.sha256, downloaded_sha256: got }),
);
if (got !== sha256 || file.sha256 !== sha256) process.exit(1);
