// Owns what every WebDAV method handler is given: the request, the services, the authenticated user,
// the resource the path names, and the lock tokens the If header submitted; plus the write guard in
// the terms handlers speak (a resource and what the write does to it).
import { AppError } from "../../shared/errors.ts";
import type { AppPasswordUser } from "../accounts/app-passwords.ts";
import type { Services } from "../services.ts";
import { guardWrite, lockPath, type WriteKind, type WriteTarget } from "./locks.ts";
import { TEAM_SPACES } from "./paths.ts";
import type { Location, Resource, SpaceLocation } from "./resources.ts";

export interface DavContext {
  request: Request;
  services: Services;
  user: AppPasswordUser;
  resource: Resource;
  /** Lock tokens the If header submitted. */
  submitted: ReadonlySet<string>;
}

/** The names of a space root under /dav/. */
export function spaceBase(loc: SpaceLocation): string[] {
  return loc.names.slice(0, loc.names.length - loc.inner.length);
}

export function writeTarget(loc: SpaceLocation, kind: WriteKind): WriteTarget {
  return { space: loc.space, base: spaceBase(loc), path: lockPath(loc.inner), kind };
}

/** Refuses with 423 unless the request submitted the locks that apply to these writes. */
export function guard(ctx: DavContext, targets: WriteTarget[]): Promise<void> {
  return guardWrite(ctx.services, ctx.user.id, ctx.submitted, targets);
}

/** The location must be inside a space (not the team-spaces collection itself). */
export function inSpace(loc: Location): SpaceLocation {
  if (loc.kind !== "space") {
    throw new AppError("forbidden", `"${TEAM_SPACES}" lists your team spaces; it cannot be changed.`);
  }
  return loc;
}

/** New items cannot take the name of the team-spaces collection at the root of the own space. */
export function assertNameAllowed(loc: SpaceLocation): void {
  if (loc.space.kind === "user" && loc.inner.length === 1 && loc.inner[0] === TEAM_SPACES) {
    throw new AppError("forbidden", `"${TEAM_SPACES}" is where your team spaces are; choose another name.`);
  }
}
