// Keeps the README's picture of the layers true: reads every import of worker/, shared/ and agent/ and
// fails on an arrow that runs the wrong way (a domain module importing a route, shared importing the
// worker, a route touching a table, the console bundling server code, ...).
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const root = resolve(import.meta.dirname, "..");

interface Arrow {
  from: string;
  /** Repository-relative path for a relative import, else the package name (`zod`, `node:fs`). */
  to: string;
  /** `import type` / `export type`: erased before anything runs (verbatimModuleSyntax). */
  typeOnly: boolean;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === "node_modules" ? [] : sourceFiles(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

/** Static imports and re-exports (at the start of a line, so comments do not count) and import(). */
function importsOf(file: string, text: string): Arrow[] {
  const found: { spec: string; typeOnly: boolean }[] = [];
  for (const m of text.matchAll(/^(?:import|export)(\s+type)?\b[^;"'`]*?\bfrom\s*["']([^"']+)["']/gm)) {
    found.push({ spec: m[2]!, typeOnly: m[1] !== undefined });
  }
  for (const m of text.matchAll(/^import\s*["']([^"']+)["']/gm)) found.push({ spec: m[1]!, typeOnly: false });
  for (const m of text.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g)) {
    found.push({ spec: m[1]!, typeOnly: false });
  }
  return found.map(({ spec, typeOnly }) => ({
    from: file,
    to: spec.startsWith(".") ? relative(root, resolve(root, dirname(file), spec)) : spec,
    typeOnly,
  }));
}

const DOMAIN = ["accounts", "files", "followers", "policies", "policy-groups", "shares", "uploads"].map(
  (folder) => `worker/${folder}/`,
);
const ABOVE_DOMAIN = [
  "worker/routes/",
  "worker/webdav/",
  "worker/http/",
  "worker/console/",
  "worker/index.ts",
  "worker/app.ts",
  "worker/scheduled.ts",
];
const BELOW_DOMAIN = [
  "worker/api/",
  "worker/db/",
  "worker/storage/",
  "worker/env.ts",
  "worker/logger.ts",
  "worker/secrets.ts",
  "worker/services.ts",
  "worker/scheduled-task.ts",
];
/** The follower channel the remote storage driver is built on: the one arrow from below into a domain. */
const FOLLOWER_CHANNEL = [
  "worker/followers/client.ts",
  "worker/followers/errors.ts",
  "worker/followers/events.ts",
];

const under = (prefixes: string[], path: string) => prefixes.some((p) => path === p || path.startsWith(p));

interface Rule {
  name: string;
  applies: (arrow: Arrow) => boolean;
  allowed: (arrow: Arrow) => boolean;
}

const rules: Rule[] = [
  {
    name: "shared/ imports nothing from worker/ or agent/, and nothing runtime-specific (node:)",
    applies: (a) => a.from.startsWith("shared/"),
    allowed: (a) => !a.to.startsWith("worker/") && !a.to.startsWith("agent/") && !a.to.startsWith("node:"),
  },
  {
    name: "worker/ and agent/ never import each other",
    applies: (a) => a.from.startsWith("worker/") || a.from.startsWith("agent/"),
    allowed: (a) =>
      !(a.from.startsWith("worker/") && a.to.startsWith("agent/")) &&
      !(a.from.startsWith("agent/") && a.to.startsWith("worker/")),
  },
  {
    name: "domain modules never import routes, the HTTP layer, the entry points or the console",
    applies: (a) => under(DOMAIN, a.from),
    allowed: (a) => !under(ABOVE_DOMAIN, a.to),
  },
  {
    name: "api/, db/, storage/ and the service modules import no domain module (but the follower channel)",
    applies: (a) => under(BELOW_DOMAIN, a.from),
    allowed: (a) =>
      !under(ABOVE_DOMAIN, a.to) &&
      (!under(DOMAIN, a.to) || (a.from.startsWith("worker/storage/") && FOLLOWER_CHANNEL.includes(a.to))),
  },
  {
    name: "api/ imports only api/, db/ and shared/",
    applies: (a) =>
      a.from.startsWith("worker/api/") && (a.to.startsWith("worker/") || a.to.startsWith("agent/")),
    allowed: (a) => a.to.startsWith("worker/api/") || a.to.startsWith("worker/db/"),
  },
  {
    name: "db/ imports only db/, env.ts and shared/",
    applies: (a) =>
      a.from.startsWith("worker/db/") && (a.to.startsWith("worker/") || a.to.startsWith("agent/")),
    allowed: (a) => a.to.startsWith("worker/db/") || a.to === "worker/env.ts",
  },
  {
    name: "routes touch no table: no drizzle-orm, db/schema.ts or db/constraints.ts",
    applies: (a) => a.from.startsWith("worker/routes/"),
    allowed: (a) =>
      !a.to.startsWith("drizzle-orm") &&
      a.to !== "worker/db/schema.ts" &&
      a.to !== "worker/db/constraints.ts",
  },
  {
    name: "the console (a browser bundle) imports its own modules, and only types from worker/api/",
    applies: (a) => a.from.startsWith("worker/console/src/"),
    allowed: (a) =>
      a.to.startsWith("worker/console/src/") ||
      (a.typeOnly && (a.to.startsWith("worker/api/") || a.to === "zod")),
  },
];

function violations(arrows: Arrow[]): string[] {
  return rules.flatMap((rule) =>
    arrows
      .filter((a) => rule.applies(a) && !rule.allowed(a))
      .map((a) => `${rule.name}: ${a.from} -> ${a.to}${a.typeOnly ? " (type)" : ""}`),
  );
}

describe("the layers of the code", () => {
  const files = ["worker", "shared", "agent"].flatMap(sourceFiles);
  const arrows = files.flatMap((file) => importsOf(file, readFileSync(join(root, file), "utf8")));

  it("reads the imports it checks", () => {
    expect(files.length).toBeGreaterThan(100);
    expect(arrows).toContainEqual({
      from: "worker/routes/files.ts",
      to: "worker/api/files.ts",
      typeOnly: false,
    });
    expect(arrows).toContainEqual({
      from: "worker/console/src/types.ts",
      to: "worker/api/files.ts",
      typeOnly: true,
    });
  });

  it("has no arrow running the wrong way", () => {
    expect(violations(arrows)).toEqual([]);
  });

  it("would report an upward arrow of each kind", () => {
    const upward: [string, string][] = [
      ['import { x } from "../worker/app.ts";', "shared/crypto.ts"],
      ['import { x } from "../worker/index.ts";', "agent/server.ts"],
      ['import { x } from "../routes/files.ts";', "worker/files/records.ts"],
      ['import { x } from "../uploads/sessions.ts";', "worker/db/probes.ts"],
      ['import { x } from "../storage/factory.ts";', "worker/api/files.ts"],
      ['import { files } from "../db/schema.ts";', "worker/routes/files.ts"],
      ['import { eq } from "drizzle-orm";', "worker/routes/files.ts"],
      ['import { userSchema } from "../../api/users.ts";', "worker/console/src/main.ts"],
      ['import { x } from "../followers/nodes.ts";', "worker/storage/factory.ts"],
    ];
    for (const [line, file] of upward) {
      expect(violations(importsOf(file, line)).length, `${file}: ${line}`).toBeGreaterThan(0);
    }
  });
});
