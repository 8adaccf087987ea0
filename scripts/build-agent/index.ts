// `npm run build:agent [-- --out FILE]`: the follower agent as one file a storage machine runs without a
// checkout or a Node of its own, a Node single-executable application. agent/cli.ts and its dependencies
// are bundled by esbuild into one CommonJS script, turned into a SEA blob by the Node running this
// script (the project's pinned Node 22, which npm scripts run), and injected with postject into a copy
// of that same node binary. The result is for the build machine's OS and CPU (linux-x64 here) and needs
// only the C libraries the node binary itself links against (`ldd` shows them).
import { spawnSync } from "node:child_process";
import { chmod, copyFile, mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { build } from "esbuild";
import { inject } from "postject";

const root = resolve(import.meta.dirname, "../..");
/** The fuse Node checks to know a blob was injected (documented in Node's single-executable docs). */
const SEA_FUSE = "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2";

export async function buildAgent(outFile: string): Promise<{ path: string; bytes: number }> {
  const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
  if (major < 22 || (major === 22 && minor < 12)) {
    throw new Error(
      `The agent is built with the project's Node (>= 22.12); this is Node ${process.versions.node}. Run it as npm run build:agent.`,
    );
  }
  const work = await mkdtemp(join(tmpdir(), "flotilla-agent-build-"));
  try {
    const script = join(work, "flotilla-agent.cjs");
    await build({
      entryPoints: [join(root, "agent/cli.ts")],
      outfile: script,
      bundle: true,
      platform: "node",
      format: "cjs",
      target: `node${major}`,
      legalComments: "none",
      logLevel: "warning",
    });
    const blob = join(work, "sea-prep.blob");
    const seaConfig = join(work, "sea-config.json");
    await writeFile(
      seaConfig,
      JSON.stringify({
        main: script,
        output: blob,
        disableExperimentalSEAWarning: true,
        useCodeCache: false,
      }),
    );
    const prepared = spawnSync(process.execPath, ["--experimental-sea-config", seaConfig], {
      encoding: "utf8",
    });
    if (prepared.status !== 0) {
      throw new Error(`node --experimental-sea-config failed: ${prepared.stderr || prepared.stdout}`);
    }
    await mkdir(dirname(outFile), { recursive: true });
    const partial = `${outFile}.partial`;
    await copyFile(process.execPath, partial);
    await chmod(partial, 0o755);
    await inject(partial, "NODE_SEA_BLOB", await readFile(blob), { sentinelFuse: SEA_FUSE });
    // Renamed only when complete, so a failed build never leaves a half-written executable in place.
    await rename(partial, outFile);
    return { path: outFile, bytes: (await stat(outFile)).size };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { out: { type: "string" } } });
  const out = resolve(values.out ?? join(root, "dist/flotilla-agent"));
  buildAgent(out).then(
    ({ path, bytes }) => {
      const shown = relative(process.cwd(), path) || path;
      process.stdout.write(
        `Built ${shown} (${(bytes / 1024 / 1024).toFixed(0)} MiB, Node ${process.versions.node}, ${process.platform}-${process.arch}).\n`,
      );
    },
    (error: unknown) => {
      process.stderr.write(`build:agent: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
