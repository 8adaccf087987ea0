// Owns housekeeping at start: uploads that were in flight when the agent stopped left temp files in the
// local targets' .flotilla/tmp (no upload can be in flight before the server listens, so all of them
// go), and multipart sessions older than MULTIPART_TTL_MS are discarded with their parts.
import { readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "./log.ts";
import type { MultipartBook, SessionRecord } from "./multipart.ts";
import type { Targets } from "./targets.ts";

export const MULTIPART_TTL_MS = 7 * 24 * 3600 * 1000;

export async function sweepAtStart(options: {
  targets: Targets;
  multipart: MultipartBook;
  dataDir: string;
  localDirs: string[];
  log: Logger;
  now: Date;
}): Promise<{ tempFiles: number; sessions: number }> {
  let tempFiles = 0;
  for (const dir of options.localDirs) {
    const tmp = join(dir, ".flotilla", "tmp");
    const names = await readdir(tmp).catch(() => [] as string[]);
    for (const name of names) {
      await rm(join(tmp, name), { force: true });
      tempFiles++;
    }
  }
  let sessions = 0;
  const root = join(options.dataDir, "multipart");
  for (const id of await readdir(root).catch(() => [] as string[])) {
    const record = await readFile(join(root, id, "session.json"), "utf8")
      .then((text) => JSON.parse(text) as SessionRecord)
      .catch(() => null);
    const age = record ? options.now.getTime() - Date.parse(record.created_at) : Number.POSITIVE_INFINITY;
    if (age <= MULTIPART_TTL_MS) continue;
    const target = record ? await options.targets.resolve(record.target).catch(() => null) : null;
    await options.multipart
      .discard(id, target?.store ?? null)
      .catch(() => rm(join(root, id), { recursive: true, force: true }));
    sessions++;
  }
  if (tempFiles || sessions)
    options.log.info("swept leftovers", { temp_files: tempFiles, multipart_sessions: sessions });
  return { tempFiles, sessions };
}
