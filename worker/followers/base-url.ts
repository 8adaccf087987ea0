// Owns the rule for a follower's base_url: empty (not reachable yet) or an http(s) origin, normalized
// (lowercase scheme and host, default port dropped, no path, query, fragment or credentials). An
// origin keeps signed paths identical on both sides, whatever a reverse proxy does to the host.
import { AppError } from "../../shared/errors.ts";

export function normalizeBaseUrl(input: string): string {
  const text = input.trim();
  if (text === "") return "";
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalid("is not a URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw invalid("must use http or https");
  if (url.username || url.password) throw invalid("must not contain credentials");
  if (url.search || url.hash || text.includes("?") || text.includes("#")) {
    throw invalid("must not contain a query or fragment");
  }
  if (url.pathname !== "/") throw invalid("must be an origin (no path)");
  return url.origin;
}

function invalid(problem: string): AppError {
  return new AppError("validation_failed", `base_url ${problem}.`, {
    details: [{ path: "base_url", message: problem }],
  });
}
