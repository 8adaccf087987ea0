// The reliability campaign's quick form (npm run campaign with small numbers) on its own throwaway
// stack: a 10 s soak, one fault of each kind this machine can inject (disk_full needs root), 1,500 fuzzed requests. Nothing may answer 5xx or
// outside the envelope, and no file may be lost, corrupt or stuck, and the primary's JavaScript heap
// after a full collection may keep no more than HEAP_GROWTH_LIMIT_MB over what it held before the
// soak (what the worker keeps per request). workerd's resident memory is reported, not asserted: the
// soak's RSS goal belongs to the full run.
import { expect, it } from "vitest";
import { faultKinds } from "../../scripts/campaign/faults.ts";
import { HEAP_GROWTH_LIMIT_MB, runCampaign } from "../../scripts/campaign/run.ts";

it("runs the quick campaign with no 5xx, nothing outside the envelope and nothing lost", async () => {
  const result = await runCampaign({
    fuzz: 1500,
    faults: faultKinds().length,
    soakSeconds: 10,
    soakClients: 16,
    soakRounds: 1,
    seed: 3,
    anchor: false,
    log: () => undefined,
  });
  console.log(result.lines.filter((line) => !/^ {2}[A-Z]+ \/(api|health)/.test(line)).join("\n"));
  expect(result.fuzz).toEqual({ requests: 1500, fivexx: 0, outsideEnvelope: 0, unanswered: 0 });
  expect(result.faults).toEqual({
    injected: faultKinds().length,
    lost: 0,
    corrupt: 0,
    stuck: 0,
    leftovers: 0,
  });
  expect(result.soak.requests).toBeGreaterThan(0);
  expect([result.soak.fivexx, result.soak.unexpected, result.soak.mismatches]).toEqual([0, 0, 0]);
  expect(result.soak.heapGrowthMB).toBeLessThanOrEqual(HEAP_GROWTH_LIMIT_MB);
}, 240_000);
