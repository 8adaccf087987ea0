// A client generated from the live OpenAPI document: the single-box stack serves its document, the
// types are generated from it (scripts/openapi-client/generate.ts, as `npm run client:types` does),
// docs/client/example.ts type-checks against them with the project's TypeScript and then logs in,
// uploads and downloads through the primary in workerd. A program that misuses the API does not
// type-check, so the types say something.
import { spawn } from "node:child_process";
import { copyFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { documentSource, generateClientTypes } from "../../scripts/openapi-client/generate.ts";
import type { Stack } from "../../scripts/stack/stack.ts";
import { startTestStackIn } from "../support/stack.ts";

const root = resolve(import.meta.dirname, "../..");
const ADMIN = { username: "admin", password: "typed client admin password" };

function run(command: string, args: string[], cwd: string, env: Record<string, string> = {}) {
  const child = spawn(command, args, {
    cwd,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => {
    output += chunk.toString("utf8");
  });
  child.stderr.on("data", (chunk: Buffer) => {
    output += chunk.toString("utf8");
  });
  return new Promise<{ code: number | null; output: string }>((done, failed) => {
    child.once("error", failed);
    child.once("close", (code) => done({ code, output }));
  });
}

const tsc = (dir: string) =>
  run(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", dir], dir);

describe("a typed client generated from the live OpenAPI document", () => {
  let dir: string;
  let work: string;
  let stack: Stack;

  beforeAll(async () => {
    // Inside the checkout so the program resolves openapi-fetch from the project's node_modules.
    await mkdir(join(root, ".tmp"), { recursive: true });
    dir = await mkdtemp(join(root, ".tmp", "typed-client-"));
    work = join(dir, "client");
    await mkdir(work);
    stack = await startTestStackIn(dir, ADMIN);
    await writeFile(
      join(work, "flotilla-api.d.ts"),
      await generateClientTypes(documentSource(stack.primaryUrl)),
    );
    await copyFile(join(root, "docs/client/example.ts"), join(work, "example.ts"));
    await writeFile(
      join(work, "tsconfig.json"),
      JSON.stringify({
        extends: join(root, "tsconfig.json"),
        compilerOptions: { skipLibCheck: false, typeRoots: [join(root, "node_modules/@types")] },
        include: ["*.ts"],
      }),
    );
  }, 180_000);
  afterAll(async () => {
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("type-checks the example program against the generated types", async () => {
    const checked = await tsc(work);
    expect(checked.output).toBe("");
    expect(checked.code).toBe(0);
  }, 120_000);

  it("refuses a program that sends a field the API does not have or forgets a required one", async () => {
    const wrong = join(dir, "wrong");
    await mkdir(wrong);
    await copyFile(join(work, "flotilla-api.d.ts"), join(wrong, "flotilla-api.d.ts"));
    await copyFile(join(work, "tsconfig.json"), join(wrong, "tsconfig.json"));
    await writeFile(
      join(wrong, "wrong.ts"),
      [
        'import createClient from "openapi-fetch";',
        'import type { paths } from "./flotilla-api.d.ts";',
        "const api = createClient<paths>({ baseUrl: 'http://127.0.0.1:1' });",
        'await api.POST("/api/v1/auth/login", { body: { username: "a", passwd: "b" } });',
        'await api.POST("/api/v1/spaces/{space}/uploads", { params: { path: { space: "me" } }, body: { name: "x" } });',
        "",
      ].join("\n"),
    );
    const checked = await tsc(wrong);
    expect(checked.code).not.toBe(0);
    expect(checked.output).toMatch(/passwd/);
    expect(checked.output).toMatch(/size/);
  }, 120_000);

  it("logs in, uploads and downloads through the primary with the generated client", async () => {
    const ran = await run(process.execPath, ["example.ts"], work, {
      FLOTILLA_URL: stack.primaryUrl,
      FLOTILLA_USERNAME: ADMIN.username,
      FLOTILLA_PASSWORD: ADMIN.password,
    });
    expect(ran.code, ran.output).toBe(0);
    const summary = JSON.parse(ran.output.trim().split("\n").at(-1)!) as Record<string, unknown>;
    expect(summary.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(summary.downloaded_sha256).toBe(summary.sha256);
  }, 120_000);
});
