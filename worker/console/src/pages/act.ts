// Owns the one way pages run an action: say it started, do it, re-render, then report the outcome in
// the status line (which lives outside the re-rendered page).
import { describe } from "../api.ts";
import { announce } from "../dom.ts";
import type { PageContext } from "../nav.ts";

export function act(ctx: PageContext, work: () => Promise<string>): () => Promise<void> {
  return async () => {
    announce("Working…");
    let outcome: [string, "ok" | "error"];
    try {
      outcome = [await work(), "ok"];
    } catch (error) {
      outcome = [describe(error), "error"];
    }
    // Re-render first, report after: whoever reads the outcome finds the page it describes, and what
    // someone starts typing once the outcome shows is not swept away by a re-render still under way.
    try {
      await ctx.refresh();
    } finally {
      announce(...outcome);
    }
  };
}
