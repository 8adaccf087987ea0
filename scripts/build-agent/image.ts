// `npm run build:agent-image [-- --out DIR]`: the build context of the follower's FROM-scratch image
// (agent/container/Dockerfile), default dist/container: rootfs/ with the single executable, every shared
// library `ldd` says it loads (and the dynamic loader) at the paths it asks for, a passwd and group entry
// for uid 10001, a nsswitch.conf for name lookups; volumes/ with the two volume directories (state, ingress). Nothing is
// pulled: a container engine builds it with `podman build --format docker -t flotilla-agent DIR` (or docker build).
import { execFileSync } from "node:child_process";
import { chmod, copyFile, mkdir, rm, writeFile } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { buildAgent } from "./index.ts";

const root = resolve(import.meta.dirname, "../..");
export const AGENT_UID = 10001;

/** Absolute paths of the shared objects the executable loads, the dynamic loader included. */
export function sharedLibraries(executable: string): string[] {
  let listing: string;
  try {
    listing = execFileSync("ldd", [executable], { encoding: "utf8" });
  } catch (cause) {
    throw new Error("ldd (Debian package libc-bin) is needed to list the libraries the agent links.", {
      cause,
    });
  }
  const paths: string[] = [];
  for (const line of listing.split("\n")) {
    const match = /=>\s*(\/\S+)|^\s*(\/\S+)\s+\(/.exec(line);
    const path = match?.[1] ?? match?.[2];
    if (path) paths.push(path);
    else if (/not found/.test(line))
      throw new Error(`The agent needs a library this machine lacks: ${line.trim()}`);
  }
  return paths;
}

/** Writes the context; `prebuilt` is an executable from buildAgent to reuse instead of building one. */
export async function buildImageContext(
  outDir: string,
  prebuilt?: string,
): Promise<{ dir: string; rootfs: string; libraries: string[] }> {
  await rm(outDir, { recursive: true, force: true });
  const rootfs = join(outDir, "rootfs");
  const executable = join(rootfs, "usr/local/bin/flotilla-agent");
  if (prebuilt) {
    await mkdir(dirname(executable), { recursive: true });
    await copyFile(prebuilt, executable);
    await chmod(executable, 0o755);
  } else {
    await buildAgent(executable);
  }
  const libraries = sharedLibraries(executable);
  for (const library of libraries) {
    const target = join(rootfs, library);
    await mkdir(dirname(target), { recursive: true });
    await copyFile(library, target); // follows symlinks: the image holds the files themselves
  }
  await mkdir(join(rootfs, "etc"), { recursive: true });
  await writeFile(
    join(rootfs, "etc/passwd"),
    `flotilla:x:${AGENT_UID}:${AGENT_UID}:Flotilla agent:/nonexistent:/sbin/nologin\n`,
  );
  await writeFile(join(rootfs, "etc/group"), `flotilla:x:${AGENT_UID}:\n`);
  await writeFile(join(rootfs, "etc/nsswitch.conf"), "hosts: files dns\n");
  // Parents come from rootfs/ (root's, 0755); only the volume directories themselves go to uid 10001.
  for (const [name, volume] of [
    ["state", "var/lib/flotilla-agent"],
    ["ingress", "data/managed-ingress"],
  ] as const) {
    await mkdir(join(rootfs, dirname(volume)), { recursive: true });
    await mkdir(join(outDir, "volumes", name), { recursive: true, mode: 0o700 });
  }
  await copyFile(join(root, "agent/container/Dockerfile"), join(outDir, "Dockerfile"));
  return { dir: outDir, rootfs, libraries };
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { out: { type: "string" } } });
  const out = resolve(values.out ?? join(root, "dist/container"));
  buildImageContext(out).then(
    ({ dir, libraries }) => {
      const shown = relative(process.cwd(), dir) || dir;
      process.stdout.write(
        `Wrote the image context ${shown} (flotilla-agent and ${libraries.length} libraries).\n` +
          `Build the image: podman build --format docker -t flotilla-agent ${shown}   (or docker build -t ...)\n`,
      );
    },
    (error: unknown) => {
      process.stderr.write(`build:agent-image: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
