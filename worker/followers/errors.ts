// Owns how a follower's refusals surface on the primary. An agent's 401/403 (signature, key, clock,
// CORS) is the primary's problem with that node, not the caller's session, so it becomes
// follower_error (502) naming the agent's code; a disabled binding becomes node_disabled.
import { AppError } from "../../shared/errors.ts";

export function fromFollower(error: unknown): unknown {
  if (!(error instanceof AppError)) return error;
  if (error.code === "binding_disabled") {
    return new AppError("node_disabled", "The follower node is disabled.", { details: error.details });
  }
  if (error.status === 401 || error.status === 403) {
    return new AppError("follower_error", `The follower refused the primary's credentials (${error.code}).`, {
      details: { follower_code: error.code },
      cause: error,
    });
  }
  return error;
}

/** Runs a follower call, translating its refusal with fromFollower. */
export async function viaFollower<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw fromFollower(error);
  }
}
