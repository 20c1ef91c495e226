/** Validation rules shared by every schema: each violation explained as what must be true. */
import { z } from 'zod';

/** A zod error option that says a missing value is required and any other problem breaks `rule`. */
export function ruleOrRequired(rule: string) {
  return { error: (issue: { input?: unknown }) => (issue.input === undefined ? 'is required' : rule) };
}

/** A whole number in [min, max], every violation explained with the same rule. */
export function wholeNumberBetween(min: number, max: number) {
  const rule = `must be a whole number between ${min} and ${max}`;
  return z.number(ruleOrRequired(rule)).int(rule).min(min, rule).max(max, rule);
}
