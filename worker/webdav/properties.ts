// Owns WebDAV properties: the live ones computed from the records (resourcetype, getetag = the
// file's SHA-256, getcontentlength, getlastmodified, creationdate, displayname, getcontenttype,
// lockdiscovery, supportedlock), the dead ones clients set with PROPPATCH (stored per file or
// folder, so they follow it through moves and the trash), and PROPFIND at Depth 0 and 1 (infinity
// is refused as the RFC allows) and PROPPATCH, which applies all of its changes or none.
import { and, count, eq, inArray, or } from "drizzle-orm";
import { randomId } from "../../shared/crypto.ts";
import { AppError, notFound } from "../../shared/errors.ts";
import { davProperties } from "../db/schema.ts";
import type { FileRow, FolderRow } from "../files/records.ts";
import type { Space } from "../files/spaces.ts";
import type { Services } from "../services.ts";
import { type DavContext, guard, spaceBase, writeTarget } from "./context.ts";
import { covers, type LockRow, lockPath, locksAround, namesOf } from "./locks.ts";
import { href, TEAM_SPACES } from "./paths.ts";
import { childLocation, children, myTeams, type Resource } from "./resources.ts";
import {
  childElements,
  DAV_NS,
  davChild,
  emptyElement,
  escapeXml,
  isDav,
  multistatus,
  propstat,
  readXml,
  responseElement,
  serialize,
  type XmlElement,
} from "./xml.ts";

const LIVE = [
  "creationdate",
  "displayname",
  "getcontentlength",
  "getcontenttype",
  "getetag",
  "getlastmodified",
  "lockdiscovery",
  "resourcetype",
  "supportedlock",
] as const;
const LIVE_NAMES = new Set<string>(LIVE);

/** A dead property value is at most this long (XML text); a resource holds at most MAX_DEAD_PROPS. */
export const MAX_PROPERTY_BYTES = 64 * 1024;
export const MAX_DEAD_PROPS = 200;

interface PropName {
  namespace: string;
  name: string;
}

/** One resource in a PROPFIND answer. */
interface Entry {
  href: string;
  collection: boolean;
  displayName: string;
  file?: FileRow;
  folder?: FolderRow;
  /** Where its locks live; null for the team-spaces collection, which cannot be locked. */
  lockAt: { space: Space; base: string[]; path: string } | null;
}

function entryOf(resource: Resource): Entry {
  switch (resource.type) {
    case "teams":
      return {
        href: href(resource.loc.names, true),
        collection: true,
        displayName: TEAM_SPACES,
        lockAt: null,
      };
    case "root":
      return {
        href: href(resource.loc.names, true),
        collection: true,
        displayName: resource.loc.label,
        lockAt: { space: resource.loc.space, base: spaceBase(resource.loc), path: "" },
      };
    case "folder":
      return {
        href: href(resource.loc.names, true),
        collection: true,
        displayName: resource.folder.name,
        folder: resource.folder,
        lockAt: {
          space: resource.loc.space,
          base: spaceBase(resource.loc),
          path: lockPath(resource.loc.inner),
        },
      };
    case "file":
      return {
        href: href(resource.loc.names, false),
        collection: false,
        displayName: resource.file.name,
        file: resource.file,
        lockAt: {
          space: resource.loc.space,
          base: spaceBase(resource.loc),
          path: lockPath(resource.loc.inner),
        },
      };
    case "missing":
      throw notFound("resource");
  }
}

/** The members of a collection, as entries. */
async function memberEntries(ctx: DavContext, resource: Resource): Promise<Entry[]> {
  const { services, user } = ctx;
  if (resource.type === "teams") {
    return (await myTeams(services, user)).map((team) => {
      const names = [TEAM_SPACES, team.segment];
      return {
        href: href(names, true),
        collection: true,
        displayName: team.segment,
        lockAt: { space: { kind: "team", id: team.id }, base: names, path: "" },
      };
    });
  }
  if (resource.type !== "root" && resource.type !== "folder") return [];
  const loc = resource.loc;
  const { folders, files } = await children(
    services,
    loc.space,
    resource.type === "root" ? null : resource.folder.id,
  );
  const out: Entry[] = [];
  if (resource.type === "root" && loc.space.kind === "user" && (await myTeams(services, user)).length > 0) {
    out.push({ href: href([TEAM_SPACES], true), collection: true, displayName: TEAM_SPACES, lockAt: null });
  }
  for (const folder of folders) {
    if (resource.type === "root" && loc.space.kind === "user" && folder.name === TEAM_SPACES) continue;
    out.push(entryOf({ type: "folder", loc: childLocation(loc, folder.name), folder }));
  }
  for (const file of files) {
    if (resource.type === "root" && loc.space.kind === "user" && file.name === TEAM_SPACES) continue;
    out.push(entryOf({ type: "file", loc: childLocation(loc, file.name), file }));
  }
  return out;
}

interface DeadProp extends PropName {
  xml: string;
}

/** Dead properties of the entries' files and folders, by file or folder id. */
async function deadProps(services: Services, entries: Entry[]): Promise<Map<string, DeadProp[]>> {
  const fileIds = entries.flatMap((e) => (e.file ? [e.file.id] : []));
  const folderIds = entries.flatMap((e) => (e.folder ? [e.folder.id] : []));
  const out = new Map<string, DeadProp[]>();
  for (let i = 0; i < Math.max(fileIds.length, folderIds.length); i += 400) {
    const files = fileIds.slice(i, i + 400);
    const folders = folderIds.slice(i, i + 400);
    const rows = await services.db
      .select()
      .from(davProperties)
      .where(
        or(
          files.length > 0 ? inArray(davProperties.fileId, files) : undefined,
          folders.length > 0 ? inArray(davProperties.folderId, folders) : undefined,
        ),
      );
    for (const row of rows) {
      const id = row.fileId ?? row.folderId ?? "";
      const list = out.get(id) ?? [];
      list.push({ namespace: row.namespace, name: row.name, xml: row.xml });
      out.set(id, list);
    }
  }
  return out;
}

/** Live locks that apply to each entry, by href. */
async function entryLocks(services: Services, entries: Entry[]): Promise<Map<string, LockRow[]>> {
  const bySpace = new Map<string, { space: Space; paths: string[] }>();
  for (const e of entries) {
    if (!e.lockAt) continue;
    const key = `${e.lockAt.space.kind}:${e.lockAt.space.id}`;
    const group = bySpace.get(key) ?? { space: e.lockAt.space, paths: [] };
    group.paths.push(e.lockAt.path);
    bySpace.set(key, group);
  }
  const found = new Map<string, LockRow[]>();
  for (const [key, group] of bySpace) found.set(key, await locksAround(services, group.space, group.paths));
  const out = new Map<string, LockRow[]>();
  for (const e of entries) {
    if (!e.lockAt) continue;
    const locks = found.get(`${e.lockAt.space.kind}:${e.lockAt.space.id}`) ?? [];
    const path = e.lockAt.path;
    out.set(
      e.href,
      locks.filter((lock) => covers(lock, path)),
    );
  }
  return out;
}

/** One `<D:activelock>`, as lockdiscovery and LOCK answers show it. */
export function activeLockXml(lock: LockRow, base: readonly string[], now: Date): string {
  const seconds = Math.max(0, Math.ceil((lock.expiresAt.getTime() - now.getTime()) / 1000));
  return (
    `<D:activelock><D:locktype><D:write/></D:locktype><D:lockscope><D:${lock.scope}/></D:lockscope>` +
    `<D:depth>${lock.depth}</D:depth>${lock.owner ? `<D:owner>${lock.owner}</D:owner>` : ""}` +
    `<D:timeout>Second-${seconds}</D:timeout><D:locktoken><D:href>${escapeXml(lock.token)}</D:href></D:locktoken>` +
    `<D:lockroot><D:href>${escapeXml(href(namesOf(base, lock.path), false))}</D:href></D:lockroot></D:activelock>`
  );
}

const SUPPORTED_LOCK =
  "<D:supportedlock>" +
  ["exclusive", "shared"]
    .map(
      (s) =>
        `<D:lockentry><D:lockscope><D:${s}/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockentry>`,
    )
    .join("") +
  "</D:supportedlock>";

function liveProp(entry: Entry, name: string, locks: LockRow[] | undefined, now: Date): string | null {
  const item = entry.file ?? entry.folder;
  switch (name) {
    case "resourcetype":
      return entry.collection ? "<D:resourcetype><D:collection/></D:resourcetype>" : "<D:resourcetype/>";
    case "displayname":
      return `<D:displayname>${escapeXml(entry.displayName)}</D:displayname>`;
    case "getcontentlength":
      return entry.file ? `<D:getcontentlength>${entry.file.size}</D:getcontentlength>` : null;
    case "getcontenttype":
      return entry.file ? `<D:getcontenttype>${escapeXml(entry.file.contentType)}</D:getcontenttype>` : null;
    case "getetag":
      return entry.file ? `<D:getetag>"${entry.file.sha256}"</D:getetag>` : null;
    case "getlastmodified":
      return item ? `<D:getlastmodified>${item.updatedAt.toUTCString()}</D:getlastmodified>` : null;
    case "creationdate":
      return item ? `<D:creationdate>${item.createdAt.toISOString()}</D:creationdate>` : null;
    case "supportedlock":
      return entry.lockAt ? SUPPORTED_LOCK : null;
    case "lockdiscovery":
      if (!entry.lockAt) return null;
      return `<D:lockdiscovery>${(locks ?? []).map((l) => activeLockXml(l, entry.lockAt!.base, now)).join("")}</D:lockdiscovery>`;
    default:
      return null;
  }
}

type PropRequest = { kind: "allprop" } | { kind: "propname" } | { kind: "prop"; names: PropName[] };

function parsePropfind(root: XmlElement | null): PropRequest {
  if (!root) return { kind: "allprop" };
  if (!isDav(root, "propfind"))
    throw new AppError("bad_request", "A PROPFIND body is a DAV:propfind element.");
  if (davChild(root, "propname")) return { kind: "propname" };
  const prop = davChild(root, "prop");
  if (prop && !davChild(root, "allprop")) {
    return {
      kind: "prop",
      names: childElements(prop).map((el) => ({
        namespace: el.namespaceURI ?? "",
        name: el.localName ?? "",
      })),
    };
  }
  return { kind: "allprop" };
}

function depthOf(request: Request): "0" | "1" {
  const depth = (request.headers.get("depth") ?? "infinity").trim().toLowerCase();
  if (depth === "0" || depth === "1") return depth;
  if (depth === "infinity") {
    throw new AppError(
      "depth_infinity_refused",
      "PROPFIND with Depth: infinity is not supported; use 0 or 1.",
    );
  }
  throw new AppError("bad_request", "Depth must be 0, 1 or infinity.");
}

export async function propfind(ctx: DavContext): Promise<Response> {
  const { request, services, resource } = ctx;
  const depth = depthOf(request);
  const wanted = parsePropfind(await readXml(request));
  const self = entryOf(resource);
  const entries = depth === "1" && self.collection ? [self, ...(await memberEntries(ctx, resource))] : [self];
  const needDead =
    wanted.kind !== "prop" || wanted.names.some((n) => n.namespace !== DAV_NS || !LIVE_NAMES.has(n.name));
  const needLocks =
    wanted.kind === "allprop" ||
    (wanted.kind === "prop" &&
      wanted.names.some((n) => n.namespace === DAV_NS && n.name === "lockdiscovery"));
  const dead = needDead ? await deadProps(services, entries) : new Map<string, DeadProp[]>();
  const locks = needLocks ? await entryLocks(services, entries) : new Map<string, LockRow[]>();
  const now = services.now();
  const responses = entries.map((entry) => {
    const own = dead.get(entry.file?.id ?? entry.folder?.id ?? "") ?? [];
    const entryLocksOf = locks.get(entry.href);
    if (wanted.kind === "propname") {
      const names = [
        ...LIVE.filter((n) => liveProp(entry, n, [], now) !== null).map((n) => emptyElement(DAV_NS, n)),
        ...own.map((p) => emptyElement(p.namespace, p.name)),
      ];
      return responseElement(entry.href, propstat(names, 200));
    }
    if (wanted.kind === "allprop") {
      const values = [
        ...LIVE.map((n) => liveProp(entry, n, entryLocksOf, now)).filter((v): v is string => v !== null),
        ...own.map((p) => p.xml),
      ];
      return responseElement(entry.href, propstat(values, 200));
    }
    const found: string[] = [];
    const missing: string[] = [];
    for (const n of wanted.names) {
      const value =
        n.namespace === DAV_NS && LIVE_NAMES.has(n.name)
          ? liveProp(entry, n.name, entryLocksOf, now)
          : (own.find((p) => p.namespace === n.namespace && p.name === n.name)?.xml ?? null);
      if (value === null) missing.push(emptyElement(n.namespace, n.name));
      else found.push(value);
    }
    const groups = [
      found.length > 0 ? propstat(found, 200) : "",
      missing.length > 0 ? propstat(missing, 404) : "",
    ];
    return responseElement(entry.href, groups.join("") || propstat([], 200));
  });
  return multistatus(responses);
}

interface PatchOp extends PropName {
  remove: boolean;
  xml: string;
}

function parsePropertyUpdate(root: XmlElement | null): PatchOp[] {
  if (!root || !isDav(root, "propertyupdate")) {
    throw new AppError("bad_request", "A PROPPATCH body is a DAV:propertyupdate element.");
  }
  const ops: PatchOp[] = [];
  for (const action of childElements(root)) {
    const remove = isDav(action, "remove");
    if (!remove && !isDav(action, "set")) continue;
    const prop = davChild(action, "prop");
    for (const el of prop ? childElements(prop) : []) {
      ops.push({
        namespace: el.namespaceURI ?? "",
        name: el.localName ?? "",
        remove,
        xml: remove ? "" : serialize(el),
      });
    }
  }
  if (ops.length === 0) throw new AppError("bad_request", "The PROPPATCH body names no property.");
  return ops;
}

const owner = (resource: { type: "file"; file: FileRow } | { type: "folder"; folder: FolderRow }) =>
  resource.type === "file" ? { fileId: resource.file.id } : { folderId: resource.folder.id };

export async function proppatch(ctx: DavContext): Promise<Response> {
  const { request, services, resource } = ctx;
  if (resource.type === "missing") throw notFound("resource");
  if (resource.type !== "file" && resource.type !== "folder") {
    throw new AppError("forbidden", "Properties cannot be set on a space root.");
  }
  await guard(ctx, [writeTarget(resource.loc, "self")]);
  const ops = parsePropertyUpdate(await readXml(request));
  const self = entryOf(resource);
  const names = ops.map((op) => emptyElement(op.namespace, op.name));
  const refuse = (bad: (op: PatchOp) => boolean, status: number) => {
    const failed = ops.filter(bad).map((op) => emptyElement(op.namespace, op.name));
    const others = ops.filter((op) => !bad(op)).map((op) => emptyElement(op.namespace, op.name));
    return multistatus([
      responseElement(self.href, propstat(failed, status) + (others.length > 0 ? propstat(others, 424) : "")),
    ]);
  };
  if (ops.some((op) => op.namespace === DAV_NS && LIVE_NAMES.has(op.name))) {
    return refuse((op) => op.namespace === DAV_NS && LIVE_NAMES.has(op.name), 403);
  }
  if (ops.some((op) => op.xml.length > MAX_PROPERTY_BYTES)) {
    return refuse((op) => op.xml.length > MAX_PROPERTY_BYTES, 507);
  }
  const key = owner(resource);
  const mine =
    resource.type === "file"
      ? eq(davProperties.fileId, resource.file.id)
      : eq(davProperties.folderId, resource.folder.id);
  const [held] = await services.db.select({ n: count() }).from(davProperties).where(mine);
  const added = new Set(ops.filter((op) => !op.remove).map((op) => `${op.namespace}\u0000${op.name}`)).size;
  if ((held?.n ?? 0) + added > MAX_DEAD_PROPS) return refuse((op) => !op.remove, 507);
  const target = resource.type === "file" ? davProperties.fileId : davProperties.folderId;
  const statements = ops.map((op) => {
    const same = and(mine, eq(davProperties.namespace, op.namespace), eq(davProperties.name, op.name));
    if (op.remove) return services.db.delete(davProperties).where(same);
    return services.db
      .insert(davProperties)
      .values({ id: randomId(), ...key, namespace: op.namespace, name: op.name, xml: op.xml })
      .onConflictDoUpdate({
        target: [target, davProperties.namespace, davProperties.name],
        set: { xml: op.xml },
      });
  });
  const [first, ...rest] = statements;
  if (first) await services.db.batch([first, ...rest]);
  return multistatus([responseElement(self.href, propstat(names, 200))]);
}

/** Gives `toFileId` (or folder) a copy of the dead properties of `from`, replacing its own. */
export async function copyDeadProps(
  services: Services,
  from: { fileId: string } | { folderId: string },
  to: { fileId: string } | { folderId: string },
): Promise<void> {
  const source =
    "fileId" in from ? eq(davProperties.fileId, from.fileId) : eq(davProperties.folderId, from.folderId);
  const rows = await services.db.select().from(davProperties).where(source);
  const dest = "fileId" in to ? eq(davProperties.fileId, to.fileId) : eq(davProperties.folderId, to.folderId);
  await services.db.batch([
    services.db.delete(davProperties).where(dest),
    ...rows.map((row) =>
      services.db
        .insert(davProperties)
        .values({ id: randomId(), ...to, namespace: row.namespace, name: row.name, xml: row.xml }),
    ),
  ]);
}
