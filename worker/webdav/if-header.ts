// Owns the If request header of RFC 4918 §10.4: parsing its lists (untagged, or tagged with the
// resource they test), evaluating them against resources' lock tokens and entity tags, and which
// lock tokens it submits. The header as a whole holds when any one list holds (every condition in it
// true); otherwise the request fails with 412.
import { AppError } from "../../shared/errors.ts";

export interface Condition {
  not: boolean;
  /** A state token (a lock token, or e.g. DAV:no-lock which no lock has). */
  token?: string;
  /** An entity tag, as written between the brackets. */
  etag?: string;
}

export interface IfList {
  /** The tagged resource (as written: an absolute URI or a path), or null for the request URI. */
  resource: string | null;
  conditions: Condition[];
}

/** What a list is tested against: the lock tokens that apply to the resource and its entity tag. */
export interface ResourceState {
  tokens: ReadonlySet<string>;
  etag: string | null;
}

const malformed = () => new AppError("bad_request", "The If header is malformed (RFC 4918 §10.4).");

/** The header ended inside a list. */
class CutOff extends Error {}

/**
 * The lists of an If header; null when there is none. A last list cut off by the end of the header
 * after complete ones is left out, as if it did not hold (it submits nothing either): some clients
 * truncate long If headers (litmus 0.13 at 200 bytes, which two 64-digit ETags overrun). Leaving it
 * out can only make a request fail, never let one through.
 */
export function parseIf(header: string | null): IfList[] | null {
  if (header === null) return null;
  const lists: IfList[] = [];
  let resource: string | null = null;
  let i = 0;
  const skip = () => {
    // Commas are tolerated between productions: a proxy may have joined two If fields into one.
    while (i < header.length && /[\s,]/.test(header[i]!)) i++;
  };
  const until = (end: string) => {
    const close = header.indexOf(end, i + 1);
    if (close < 0) throw new CutOff();
    const value = header.slice(i + 1, close);
    i = close + 1;
    return value;
  };
  const parseConditions = (): Condition[] => {
    const conditions: Condition[] = [];
    for (;;) {
      while (i < header.length && /\s/.test(header[i]!)) i++;
      if (i >= header.length) throw new CutOff();
      if (header[i] === ")") {
        i++;
        break;
      }
      let not = false;
      if (header.slice(i, i + 3).toLowerCase() === "not") {
        not = true;
        i += 3;
        while (i < header.length && /\s/.test(header[i]!)) i++;
      }
      if (header[i] === "<") conditions.push({ not, token: until(">") });
      else if (header[i] === "[") conditions.push({ not, etag: until("]") });
      else if (i >= header.length) throw new CutOff();
      else throw malformed();
    }
    if (conditions.length === 0) throw malformed();
    return conditions;
  };
  skip();
  while (i < header.length) {
    try {
      if (header[i] === "<") {
        resource = until(">");
        skip();
      }
      if (header[i] !== "(") throw i >= header.length ? new CutOff() : malformed();
      i++;
      lists.push({ resource, conditions: parseConditions() });
    } catch (error) {
      if (!(error instanceof CutOff)) throw error;
      if (lists.length > 0) break;
      throw malformed();
    }
    skip();
  }
  if (lists.length === 0) throw malformed();
  return lists;
}

/** W/ is not a strong match: If compares entity tags strongly. */
function etagMatches(condition: string, current: string | null): boolean {
  return current !== null && !condition.trim().startsWith("W/") && condition.trim() === current;
}

function listHolds(list: IfList, state: ResourceState): boolean {
  return list.conditions.every((c) => {
    const holds = c.token !== undefined ? state.tokens.has(c.token) : etagMatches(c.etag ?? "", state.etag);
    return c.not ? !holds : holds;
  });
}

/**
 * Evaluates the header (`stateOf` gives the state of each list's resource; null = the request URI)
 * and answers the lock tokens it submits: every state token it names outside a Not. Throws
 * precondition_failed when no list holds.
 */
export async function evaluateIf(
  lists: IfList[],
  stateOf: (resource: string | null) => Promise<ResourceState>,
): Promise<Set<string>> {
  const states = new Map<string | null, ResourceState>();
  let holds = false;
  for (const list of lists) {
    let state = states.get(list.resource);
    if (!state) {
      state = await stateOf(list.resource);
      states.set(list.resource, state);
    }
    if (listHolds(list, state)) holds = true;
  }
  if (!holds) throw new AppError("precondition_failed", "The If header's conditions do not hold.");
  const submitted = new Set<string>();
  for (const list of lists) {
    for (const c of list.conditions) if (c.token !== undefined && !c.not) submitted.add(c.token);
  }
  return submitted;
}
