// Owns the rules of a policy group: the checks a rule set must pass (positive unique
// priorities, one rule per policy, max > min unless max = 0 meaning unbounded), size matching
// ([min, max): min inclusive, max exclusive) and the sizes a rule set leaves uncovered.
import { AppError } from "../../shared/errors.ts";
import type { RuleInput } from "../api/policy-groups.ts";

export interface RuleProblem {
  index: number;
  field: "priority" | "policy_id" | "max_size";
  message: string;
}

/** All problems of a rule set, in order; empty when the set is valid. */
export function ruleProblems(rules: readonly RuleInput[]): RuleProblem[] {
  const problems: RuleProblem[] = [];
  const priorities = new Map<number, number>();
  const policies = new Map<string, number>();
  rules.forEach((rule, index) => {
    if (rule.max_size !== 0 && rule.max_size <= rule.min_size) {
      problems.push({
        index,
        field: "max_size",
        message: "max_size must be greater than min_size (or 0 for no limit)",
      });
    }
    const samePriority = priorities.get(rule.priority);
    if (samePriority !== undefined) {
      problems.push({
        index,
        field: "priority",
        message: `priority ${rule.priority} is already used by rule ${samePriority}`,
      });
    } else priorities.set(rule.priority, index);
    const samePolicy = policies.get(rule.policy_id);
    if (samePolicy !== undefined) {
      problems.push({
        index,
        field: "policy_id",
        message: `this storage policy is already used by rule ${samePolicy}`,
      });
    } else policies.set(rule.policy_id, index);
  });
  return problems;
}

export function assertValidRules(rules: readonly RuleInput[]): void {
  const problems = ruleProblems(rules);
  if (problems.length > 0) {
    throw new AppError("policy_rule_conflict", problems.map((p) => p.message).join("; "), {
      details: problems,
    });
  }
}

/** min inclusive, max exclusive, max 0 = unbounded. */
export function sizeMatches(rule: { minSize: number; maxSize: number }, size: number): boolean {
  return size >= rule.minSize && (rule.maxSize === 0 || size < rule.maxSize);
}

/** A size range [min_size, max_size); max_size 0 = unbounded. */
export interface SizeRange {
  min_size: number;
  max_size: number;
}

/** The sizes no range covers, merged and in order (an empty list when every size is covered). */
export function uncoveredRanges(ranges: readonly SizeRange[]): SizeRange[] {
  const sorted = [...ranges].sort((a, b) => a.min_size - b.min_size);
  const gaps: SizeRange[] = [];
  let next = 0; // the smallest size not yet covered; Infinity once covered without bound
  for (const range of sorted) {
    if (range.min_size > next) gaps.push({ min_size: next, max_size: range.min_size });
    const end = range.max_size === 0 ? Number.POSITIVE_INFINITY : range.max_size;
    next = Math.max(next, end);
  }
  if (next !== Number.POSITIVE_INFINITY) gaps.push({ min_size: next, max_size: 0 });
  return gaps;
}
