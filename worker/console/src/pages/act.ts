// Owns the one way pages run an action: say it started, do it, report the outcome in the status
// line, re-render (the outcome stays in the status line across the re-render).
import { describe } from "../api.ts";
import { announce } from "../dom.ts";
import type { PageContext } from "../main.ts";

export function act(ctx: PageContext, work: () => Promise<string>): () => Promise<void> {
  return async () => {
    announce("Working…");
    try {
      announce(await work());
    } catch (error) {
      announce(describe(error), "error");
    }
    await ctx.refresh();
  };
}
