// Owns the WebDAV URL space under one base path, /dav/: the caller's own space is the root, and each
// team space the caller belongs to is `/dav/Team spaces/<team name>/` (a name kept for that
// collection at the root of the own space). Request paths are decoded into names that obey the same
// rules as the console's (no encoded slash, no "." or "..", no control characters), and names are
// encoded back into hrefs.
import { AppError } from "../../shared/errors.ts";
import { cleanName } from "../files/names.ts";

export const DAV_BASE = "/dav";
/** The collection at the root that holds the caller's team spaces. */
export const TEAM_SPACES = "Team spaces";

export function isDavPath(pathname: string): boolean {
  return pathname === DAV_BASE || pathname.startsWith(`${DAV_BASE}/`);
}

/** The names of a path under /dav/ (none for the root), each decoded and validated. */
export function pathNames(pathname: string): string[] {
  if (!isDavPath(pathname)) throw new AppError("forbidden", `WebDAV paths start with ${DAV_BASE}/.`);
  return pathname
    .slice(DAV_BASE.length)
    .split("/")
    .filter((segment) => segment !== "")
    .map(davName);
}

/** One path segment as a name: percent-decoded, NFC, and valid as a file or folder name as it is. */
export function davName(segment: string): string {
  let name: string;
  try {
    name = decodeURIComponent(segment);
  } catch {
    throw new AppError("bad_request", "The path is not valid percent-encoding.");
  }
  if (name.includes("/")) throw new AppError("name_invalid", "A name cannot contain an encoded slash.");
  const cleaned = cleanName(name);
  if (cleaned !== name.normalize("NFC")) {
    throw new AppError("name_invalid", "A name cannot start or end with white space.");
  }
  return cleaned;
}

/** The href of a resource from its names under /dav/; collections end with a slash. */
export function href(names: readonly string[], collection: boolean): string {
  if (names.length === 0) return `${DAV_BASE}/`;
  return `${DAV_BASE}/${names.map(encodeURIComponent).join("/")}${collection ? "/" : ""}`;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is replaced.
const UNNAMEABLE = /[\u0000-\u001f\u007f/\\]/g;

/**
 * How a team's name appears as a path segment: characters a name cannot hold become "_" (team names
 * are free text), so every team the caller belongs to can be reached.
 */
export function teamSegment(name: string): string {
  const cleaned = name.normalize("NFC").replace(UNNAMEABLE, "_").trim();
  return cleaned === "" || cleaned === "." || cleaned === ".." ? "_" : cleaned;
}
