// Owns the one way pages run an action: do it, report the outcome in the status line, re-render.
import { describe } from "../api.ts";
import { announce } from "../dom.ts";
import type { PageContext } from "../main.ts";

export function act(ctx: PageContext, work: () => Promise<string>): () => Promise<void> {
  return async () => {
    try {
      announce(await work());
    } catch (error) {
      announce(describe(error), "error");
    }
    ctx.refresh();
  };
}
