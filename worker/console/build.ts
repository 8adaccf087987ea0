// Owns building the web console: bundles worker/console/src/main.ts with esbuild into app.js and
// copies worker/console/public/ beside it. The output directory is what Workers static assets serve
// (wrangler.toml [assets], and Miniflare in scripts/stack/primary.ts). Node only, never imported by
// the worker. Usage: node worker/console/build.ts [outDir]   (default dist/console)
import { cp, mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = import.meta.dirname;
export const defaultConsoleDir = resolve(here, "../../dist/console");

export async function buildConsole(outDir: string = defaultConsoleDir): Promise<string> {
  await mkdir(outDir, { recursive: true });
  await cp(join(here, "public"), outDir, { recursive: true });
  await build({
    entryPoints: [join(here, "src/main.ts")],
    outfile: join(outDir, "app.js"),
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    sourcemap: "linked",
    legalComments: "none",
    logLevel: "silent",
  });
  if (outDir === defaultConsoleDir) await writeFile(join(outDir, "..", ".gitignore"), "*\n");
  return outDir;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = await buildConsole(process.argv[2] ? resolve(process.argv[2]) : defaultConsoleDir);
  process.stdout.write(`Console built into ${out}\n`);
}
