/** Silences: label matchers with a time window, as in Alertmanager. Pure. */
import type { Labels } from './types.ts';

export interface Matcher {
  name: string;
  value: string;
  /** value is a regular expression, anchored at both ends. */
  isRegex: boolean;
  /** false: the label must NOT match. */
  isEqual: boolean;
}

export interface Silence {
  id: string;
  matchers: Matcher[];
  /** ms since epoch. */
  startsAt: number;
  endsAt: number;
  createdBy: string;
  comment: string;
}

export function silenceActive(s: Silence, now: number): boolean {
  return s.startsAt <= now && now < s.endsAt;
}

/** Matchers see the alert's labels plus `alertname` (the rule) and `severity`. */
export function matchesAll(matchers: readonly Matcher[], labels: Labels): boolean {
  return matchers.every((m) => {
    const v = labels[m.name] ?? '';
    const hit = m.isRegex ? new RegExp(`^(?:${m.value})$`).test(v) : v === m.value;
    return hit === m.isEqual;
  });
}

/** Ids of the active silences that cover these labels. */
export function silencedBy(silences: readonly Silence[], labels: Labels, now: number): string[] {
  return silences.filter((s) => silenceActive(s, now) && matchesAll(s.matchers, labels)).map((s) => s.id);
}

/** Problem with a matcher a person can fix, or undefined when it is usable. */
export function matcherProblem(m: Matcher): string | undefined {
  if (!m.isRegex) return undefined;
  try {
    new RegExp(m.value);
    return undefined;
  } catch (err) {
    return `matcher ${m.name}: invalid regular expression (${(err as Error).message})`;
  }
}
