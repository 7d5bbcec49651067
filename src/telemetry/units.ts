/**
 * Unit conversion at the edge: sources speak °F, K, W, MW or ratios; inside the agent
 * everything is °C, kW and percent (DESIGN.md, "Units inside the agent").
 */
import type { SourceUnit } from '../config/schema.ts';

export type Convert = (value: number) => number;

const identity: Convert = (v) => v;

const CONVERTERS: Record<SourceUnit, Convert> = {
  C: identity,
  F: (v) => ((v - 32) * 5) / 9,
  K: (v) => v - 273.15,
  W: (v) => v / 1000,
  kW: identity,
  MW: (v) => v * 1000,
  pct: identity,
  ratio: (v) => v * 100,
};

/** Which source units can describe a canonical metric, by its suffix. */
const UNITS_BY_SUFFIX: Record<string, readonly SourceUnit[]> = {
  _c: ['C', 'F', 'K'],
  _kw: ['W', 'kW', 'MW'],
  _pct: ['pct', 'ratio'],
};

function suffixOf(metric: string): string | undefined {
  return Object.keys(UNITS_BY_SUFFIX).find((s) => metric.endsWith(s));
}

/** The canonical unit of a metric (°C for *_c, kW for *_kw, pct for *_pct). */
export function canonicalUnit(metric: string): SourceUnit | undefined {
  switch (suffixOf(metric)) {
    case '_c':
      return 'C';
    case '_kw':
      return 'kW';
    case '_pct':
      return 'pct';
    default:
      return undefined;
  }
}

/** Why `unit` cannot describe `metric` (e.g. °F for power_kw), or undefined when it can. */
export function unitProblem(metric: string, unit: SourceUnit): string | undefined {
  const suffix = suffixOf(metric);
  if (suffix === undefined) return `metric ${metric} has no known unit suffix (_c, _kw, _pct)`;
  const allowed = UNITS_BY_SUFFIX[suffix] ?? [];
  if (!allowed.includes(unit)) {
    return `unit ${unit} cannot describe ${metric}; use one of ${allowed.join(', ')}`;
  }
  return undefined;
}

/**
 * A converter from `unit` to the metric's canonical unit, chosen once per mapped field
 * so the hot path calls one small function. Throws on a unit that does not fit the metric.
 */
export function converterFor(metric: string, unit: SourceUnit | undefined): Convert {
  if (unit === undefined) return identity;
  const problem = unitProblem(metric, unit);
  if (problem) throw new Error(problem);
  return CONVERTERS[unit];
}

/** Convert one value; for tests and one-off use (the router precompiles with converterFor). */
export function toCanonical(metric: string, value: number, unit: SourceUnit | undefined): number {
  return converterFor(metric, unit)(value);
}
