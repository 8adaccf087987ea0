// Owns what the browser tests share: the real single-box stack (libSQL server, worker in workerd with
// the console as static assets, Follower 1) on ephemeral ports in a temp dir, the headless Chromium that
// `npm install` brings (@sparticuz/chromium) driven by playwright-core with a fresh profile, screenshots
// under test-artifacts/screenshots/, and a second real agent started from the enrollment command the
// console shows.
import { type ChildProcess, spawn } from "node:child_process";
import { createReadStream, createWriteStream } from "node:fs";
import { access, mkdir, mkdtemp, readFile, rename, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { pipeline } from "node:stream/promises";
import { createBrotliDecompress } from "node:zlib";
import { type BrowserContext, chromium, type Download, type Locator, type Page } from "playwright-core";
import { expect } from "vitest";
import type { Stack } from "../../scripts/stack/stack.ts";
import { apiToken, startTestStackIn } from "../support/stack.ts";

const root = resolve(import.meta.dirname, "../..");

/** Each browser test's own limit: several steps, each allowed the context's 60 s. */
export const BROWSER_TEST_TIMEOUT = 240_000;
export const screenshotDir = join(root, "test-artifacts", "screenshots");
export const ADMIN = { username: "admin", password: "browser-admin-password-1" };

export interface TestStack {
  stack: Stack;
  dir: string;
  logs: string[];
  close(): Promise<void>;
}

export async function startTestStack(): Promise<TestStack> {
  const dir = await mkdtemp(join(tmpdir(), "flotilla-browser-"));
  const logs: string[] = [];
  const stack = await startTestStackIn(dir, ADMIN, (line) => logs.push(line));
  return {
    stack,
    dir,
    logs,
    async close() {
      await stack.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface TestBrowser {
  context: BrowserContext;
  page: Page;
  close(): Promise<void>;
}

let unpacked: Promise<string> | undefined;

/**
 * The headless Chromium shipped inside the @sparticuz/chromium package (brotli-compressed in its
 * bin/), unpacked once per version into the temp dir and shared by every test process. The package's
 * own unpacker writes to one fixed path and trusts whatever it finds there, so test files starting at
 * once could run a half-written binary; here each process unpacks into a private folder and renames
 * it into place, and a finished folder is only ever there whole.
 */
function chromiumExecutable(): Promise<string> {
  unpacked ??= unpackChromium().catch((error: unknown) => {
    unpacked = undefined;
    throw new Error(
      `the Chromium from @sparticuz/chromium could not be unpacked (run npm install): ${(error as Error).message}`,
    );
  });
  return unpacked;
}

async function unpackChromium(): Promise<string> {
  const packageDir = dirname(dirname(createRequire(import.meta.url).resolve("@sparticuz/chromium")));
  const { version } = JSON.parse(await readFile(join(packageDir, "package.json"), "utf8")) as {
    version: string;
  };
  const dir = join(tmpdir(), `flotilla-chromium-${version}`);
  const executable = join(dir, "chromium");
  if (await exists(executable)) return executable;
  const partial = await mkdtemp(`${dir}.partial-`);
  try {
    await pipeline(
      createReadStream(join(packageDir, "bin", "chromium.br")),
      createBrotliDecompress(),
      createWriteStream(join(partial, "chromium"), { mode: 0o755 }),
    );
    // Another test process may have put its copy in place meanwhile; either whole copy will do.
    await rename(partial, dir).catch(async (error: unknown) => {
      if (!(await exists(executable))) throw error;
    });
  } finally {
    await rm(partial, { recursive: true, force: true });
  }
  return executable;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** The headless Chromium from @sparticuz/chromium, with a fresh profile directory. */
export async function launchBrowser(options: { width?: number; height?: number } = {}): Promise<TestBrowser> {
  const executablePath = await chromiumExecutable();
  const profile = await mkdtemp(join(tmpdir(), "flotilla-chromium-profile-"));
  const context = await chromium
    .launchPersistentContext(profile, {
      executablePath,
      headless: true,
      // Root needs --no-sandbox; a closed network needs Chromium's own background traffic switched off.
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
      viewport: { width: options.width ?? 1280, height: options.height ?? 900 },
      acceptDownloads: true,
    })
    .catch(async (error: unknown) => {
      await rm(profile, { recursive: true, force: true });
      throw new Error(
        `the Chromium from @sparticuz/chromium (${executablePath}) did not start: ${(error as Error).message}`,
      );
    });
  // A step waits for what the page shows, which on a loaded machine can take tens of seconds; a
  // stuck step still fails by name well before the test's own timeout (BROWSER_TEST_TIMEOUT).
  context.setDefaultTimeout(60_000);
  await context.grantPermissions(["clipboard-read", "clipboard-write"]).catch(() => undefined);
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

let announced = false;

export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(screenshotDir, { recursive: true });
  if (!announced) {
    announced = true;
    console.log(`screenshots are saved in ${screenshotDir}`);
  }
  const path = join(screenshotDir, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

export async function login(page: Page, base: string, username: string, password: string): Promise<void> {
  await page.goto(`${base}/login`);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("button", { name: "Log out" }).waitFor();
}

/** Waits for the status line to report something matching `pattern`; fails with the actual text. */
export async function expectStatus(page: Page, pattern: RegExp): Promise<string> {
  const status = page.locator("#status");
  await status
    .filter({ hasText: pattern })
    .waitFor()
    .catch(async () => {
      throw new Error(`status line is "${await status.textContent()}", expected ${pattern}`);
    });
  return (await status.textContent()) ?? "";
}

/**
 * Checks a PDF preview frame: it shows a blob: URL holding exactly `pdf`'s bytes, typed application/pdf
 * (what a browser's PDF viewer draws). This Chromium has no PDF viewer (navigator.pdfViewerEnabled is
 * false, as in a browser whose viewer is turned off), so it saves the framed document as a download
 * instead of drawing it; that download is read back here. The page's CSP keeps its own scripts from
 * fetching blob: URLs, and Chromium names a download after its MIME type, so `.pdf` tells the type.
 * `saved` is `page.waitForEvent("download")`, started before the action that opens the preview.
 */
export async function expectPdfFrame(
  frame: Locator,
  pdf: Uint8Array,
  saved: Promise<Download>,
): Promise<void> {
  await expect.poll(() => frame.getAttribute("data-loaded"), { timeout: 60_000 }).toBe("true");
  const src = (await frame.getAttribute("src")) ?? "";
  expect(src).toMatch(/^blob:/);
  const download = await saved;
  expect(download.url()).toBe(src);
  expect(download.suggestedFilename()).toMatch(/\.pdf$/);
  expect(new Uint8Array(await readFile((await download.path())!))).toEqual(new Uint8Array(pdf));
}

export interface Agent {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Runs the two lines the console shows for a checkout (`npm run agent -- enroll ...`, then `npm run
 * agent -- start ...`) as pasted, changing only what the console says a second agent on the same machine
 * must change: --data-dir, --listen (an ephemeral port here) and --base-url.
 */
export async function enrollAndStartAgent(
  command: string,
  dataDir: string,
  ingressRoot: string,
  options: { advertiseBaseUrl?: boolean } = {},
): Promise<Agent> {
  const lines = command.trim().split("\n");
  const [enrollLine, startLine] = lines.map((line) => line.trim().split(/\s+/));
  const prefix = ["npm", "run", "agent", "--"];
  const shaped = (words: string[] | undefined, verb: string) =>
    lines.length === 2 && words?.slice(0, 5).join(" ") === [...prefix, verb].join(" ");
  if (!enrollLine || !startLine || !shaped(enrollLine, "enroll") || !shaped(startLine, "start")) {
    throw new Error(`unexpected enrollment command: ${command}`);
  }
  const env: NodeJS.ProcessEnv = { ...process.env, FLOTILLA_MANAGED_INGRESS_LOCAL_ROOT: ingressRoot };
  for (const name of [
    "FLOTILLA_AGENT_CONFIG",
    "FLOTILLA_AGENT_LISTEN",
    "FLOTILLA_AGENT_DATA_DIR",
    "FLOTILLA_PRIMARY_URL",
    "FLOTILLA_ENROLLMENT_TOKEN",
    "FLOTILLA_AGENT_BASE_URL",
  ]) {
    delete env[name];
  }
  const enroll = spawn("npm", withSettings(enrollLine, { "--data-dir": dataDir }), {
    cwd: root,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  enroll.stdout!.on("data", (chunk) => (output += chunk));
  enroll.stderr!.on("data", (chunk) => (output += chunk));
  const code = await new Promise<number | null>((done) => enroll.once("exit", done));
  if (code !== 0) throw new Error(`enroll exited with ${code}: ${output}`);

  const settings = { "--data-dir": dataDir, "--listen": "127.0.0.1:0" };
  const first = await startAgent(withSettings(startLine, settings), env);
  if (!options.advertiseBaseUrl) return first;
  // Presigned browser traffic needs the agent to know its own base_url. The port is only known once
  // it listened on port 0, so the agent is restarted on that same port with --base-url.
  await first.stop();
  return startAgent(
    withSettings(startLine, { ...settings, "--listen": new URL(first.url).host, "--base-url": first.url }),
    env,
  );
}

/** npm's arguments for a shown line, with the given flags set to these values (added when absent). */
function withSettings(words: string[], settings: Record<string, string>): string[] {
  const args = words.slice(1);
  for (const [flag, value] of Object.entries(settings)) {
    const at = args.indexOf(flag);
    if (at >= 0) args[at + 1] = value;
    else args.push(flag, value);
  }
  return args;
}

async function startAgent(args: string[], env: NodeJS.ProcessEnv): Promise<Agent> {
  // Its own process group, so stop() reaches npm and the agent under it the way Ctrl-C would.
  const child = spawn("npm", args, { cwd: root, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
  const exited = new Promise<void>((done) => child.once("exit", () => done()));
  const url = await new Promise<string>((found, reject) => {
    const lines: string[] = [];
    const onLine = (line: string) => {
      const match = /^Follower listening on (http:\/\/\S+)/.exec(line);
      if (match?.[1]) found(match[1]);
      else lines.push(line);
    };
    createInterface({ input: child.stdout! }).on("line", onLine);
    createInterface({ input: child.stderr! }).on("line", onLine);
    child.once("exit", (c) =>
      reject(new Error(`agent exited (${c}) before listening:\n${lines.join("\n")}`)),
    );
  });
  return {
    url,
    child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      process.kill(-child.pid!, "SIGTERM");
      await exited;
    },
  };
}

/** An API client with a bearer token (for test setup that is not itself under test). */
export async function apiAs(base: string, username: string, password: string) {
  const token = await apiToken(base, username, password);
  return async <T = unknown>(method: string, path: string, body?: unknown): Promise<T> => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  };
}

/** Creates an app password on the WebDAV page and reads the value it shows once. */
export async function createAppPassword(p: Page, name: string): Promise<string> {
  const form = p.getByRole("form", { name: "New app password" });
  await form.getByLabel("Name").fill(name);
  await form.getByRole("button", { name: "Create app password" }).click();
  await expectStatus(p, new RegExp(`App password "${name}" created`));
  const value = (await p.locator("#new-app-password-value").textContent())?.trim() ?? "";
  if (!/^fap_/.test(value)) throw new Error(`the page showed no app password, but "${value}"`);
  await p.getByRole("row", { name: new RegExp(name) }).waitFor();
  return value;
}
