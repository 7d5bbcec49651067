/** The alert vocabulary shared by rules, the lifecycle, routing and the API. Pure types and helpers. */
import { createHash } from 'node:crypto';

export type Severity = 'info' | 'warning' | 'critical';
export const SEVERITY_RANK: Readonly<Record<Severity, number>> = { info: 0, warning: 1, critical: 2 };

export type RuleName =
  | 'PredictedHotspot'
  | 'InletBreach'
  | 'InletRiseRate'
  | 'SensorStale'
  | 'TelemetrySilent'
  | 'SensorStuck'
  | 'SensorImplausible'
  | 'RackPowerHigh'
  | 'FeedPowerHigh'
  | 'SitePowerHigh'
  | 'RedundancyLost'
  | 'CoolingSupplyDrift'
  | 'CoolingZoneWarming'
  /** Raised by the agent, not a rule: a changed site file was refused (see AlertsModule.raiseOperatorAlert). */
  | 'ConfigReloadRejected';

export type Labels = Readonly<Record<string, string>>;

/** What a rule reports for one target in one evaluation: "this is true now". */
export interface Condition {
  rule: RuleName;
  /** Identity labels (site, room, row, rack / unit / zone / feed, metric); severity is NOT one of them. */
  labels: Labels;
  severity: Severity;
  /** The measured or predicted value that tripped the rule, in the rule's unit. */
  value: number;
  summary: string;
  description: string;
  /** Extra detail (expected crossing time, lead minutes, affected racks, …). */
  annotations?: Readonly<Record<string, string>>;
  /** Hold before firing for this condition, overriding the site's forSeconds (e.g. 0 for forecasts). */
  forMs?: number;
  /** Hold before resolving once the condition is gone, overriding resolveSeconds (0: an operator alert). */
  resolveMs?: number;
  /** Fingerprint of the alert this one is grouped under (a zone cooling alert); it is not sent on its own. */
  groupedUnder?: string;
}

/**
 * Stable identity of an alert: the rule plus its identity labels, order-independent. The same rack
 * breaching after a restart, or with another severity, is the same alert.
 */
export function fingerprintOf(rule: string, labels: Labels): string {
  const keys = Object.keys(labels).sort();
  const text = [rule, ...keys.map((k) => `${k}=${labels[k]}`)].join('\u0000');
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}
