// Owns housekeeping at start. No write can be in flight before the server listens, so every temp file
// goes: the local targets' .flotilla/tmp (data and metadata of writes a stop cut off) and the temp files
// of multipart records. Multipart sessions older than MULTIPART_TTL_MS are discarded with their parts,
// and so are parts on a local target left that long without a session record; so is the metadata
// earlier versions kept for parts (.flotilla/meta/.flotilla), where their leftover temp files sat.
import { readdir, readFile, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "./log.ts";
import { type MultipartBook, RECORD_TEMP_SUFFIX, type SessionRecord } from "./multipart.ts";
import type { Targets } from "./targets.ts";

export const MULTIPART_TTL_MS = 7 * 24 * 3600 * 1000;

const names = (dir: string) => readdir(dir).catch(() => [] as string[]);

async function removeTemps(dir: string): Promise<number> {
  let removed = 0;
  for (const name of await names(dir)) {
    if (!name.endsWith(RECORD_TEMP_SUFFIX)) continue;
    await rm(join(dir, name), { force: true });
    removed++;
  }
  return removed;
}

export async function sweepAtStart(options: {
  targets: Targets;
  multipart: MultipartBook;
  dataDir: string;
  localDirs: string[];
  log: Logger;
  now: Date;
}): Promise<{ tempFiles: number; sessions: number }> {
  let tempFiles = 0;
  let sessions = 0;
  const root = join(options.dataDir, "multipart");
  const live = new Set<string>();
  for (const id of await names(root)) {
    tempFiles += (await removeTemps(join(root, id))) + (await removeTemps(join(root, id, "parts")));
    const record = await readFile(join(root, id, "session.json"), "utf8")
      .then((text) => JSON.parse(text) as SessionRecord)
      .catch(() => null);
    const age = record ? options.now.getTime() - Date.parse(record.created_at) : Number.POSITIVE_INFINITY;
    if (age <= MULTIPART_TTL_MS) {
      live.add(id);
      continue;
    }
    const target = record ? await options.targets.resolve(record.target).catch(() => null) : null;
    await options.multipart
      .discard(id, target?.store ?? null)
      .catch(() => rm(join(root, id), { recursive: true, force: true }));
    sessions++;
  }
  for (const dir of options.localDirs) {
    const tmp = join(dir, ".flotilla", "tmp");
    for (const name of await names(tmp)) {
      await rm(join(tmp, name), { recursive: true, force: true });
      tempFiles++;
    }
    const staged = join(dir, ".flotilla", "multipart");
    for (const id of await names(staged)) {
      if (live.has(id)) continue;
      const changed = await stat(join(staged, id)).then(
        (s) => s.mtimeMs,
        () => options.now.getTime(),
      );
      if (options.now.getTime() - changed <= MULTIPART_TTL_MS) continue;
      await rm(join(staged, id), { recursive: true, force: true });
      sessions++;
    }
    await rm(join(dir, ".flotilla", "meta", ".flotilla"), { recursive: true, force: true });
  }
  if (tempFiles || sessions)
    options.log.info("swept leftovers", { temp_files: tempFiles, multipart_sessions: sessions });
  return { tempFiles, sessions };
}
