// Owns path confinement: a relative path is resolved under a root with every symlink of the existing
// part resolved, and refused when the result leaves the root. Lexical checks happen earlier (keys.ts);
// this is the filesystem layer that defeats symlink escapes.
import { mkdir, realpath } from "node:fs/promises";
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { AppError } from "../../shared/errors.ts";

function inside(root: string, candidate: string): boolean {
  const rel = relative(root, candidate);
  return rel === "" || !(rel === ".." || rel.startsWith(`..${sep}`) || isAbsolute(rel));
}

/** Resolves `relativePath` under `root` (which is created if missing) and returns the real path. */
export async function confine(root: string, relativePath: string): Promise<string> {
  await mkdir(root, { recursive: true });
  const realRoot = await realpath(root);
  const lexical = resolve(realRoot, relativePath);
  if (!inside(realRoot, lexical)) throw escapeError();
  const missing: string[] = [];
  let existing = lexical;
  for (;;) {
    try {
      const real = await realpath(existing);
      const candidate = join(real, ...missing.reverse());
      if (!inside(realRoot, candidate)) throw escapeError();
      return candidate;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      missing.push(basename(existing));
      existing = dirname(existing);
    }
  }
}

function escapeError(): AppError {
  return new AppError("ingress_path_invalid", "The path leaves its root (through '..' or a symlink).");
}
