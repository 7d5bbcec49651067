/** The storage contract every backend (InfluxDB, embedded) fulfils. */
import type { TargetKind } from '../config/schema.ts';
import type { SiteIndex } from '../config/siteIndex.ts';
import type { Reading } from '../telemetry/reading.ts';

export interface HistoryQuery {
  kind: TargetKind;
  site: string;
  /** Ids of racks / units; all of the site when absent. */
  targets?: string[];
  metrics: string[];
  /** Inclusive start, exclusive end; ms since epoch. */
  from: number;
  to: number;
  /** Aggregation window (mean per window); raw points when absent. */
  windowMs?: number;
}

/** One series: a target's metric over time, points sorted by ts. */
export interface HistorySeries {
  target: string;
  metric: string;
  points: Array<{ ts: number; value: number }>;
}

export interface StoreHealth {
  connected: boolean;
  lastError?: string;
}

/**
 * One forecast value for the `forecast` measurement (tags site, rack, horizon_min, model; fields
 * inlet_c, lo_c, hi_c), stamped at the time it forecasts so it charts against the actual inlet.
 */
export interface ForecastRecord {
  site: string;
  rack: string;
  horizonMin: number;
  /** Model that made it, e.g. `v3`, or `persistence`. */
  model: string;
  /** Target time (issue time + horizon), ms. */
  ts: number;
  inletC: number;
  loC: number;
  hiC: number;
}

/** One alert notification, kept as history beside the telemetry it was about (`alert` measurement). */
export interface AlertEventRecord {
  site: string;
  rule: string;
  severity: string;
  /** Rack, cooling unit, zone or site the alert is about. */
  target: string;
  /** firing | escalated | repeat | resolved */
  state: string;
  value: number;
  message: string;
  fingerprint: string;
  ts: number;
}

/** Which alert events to read back; the answer is newest first. */
export interface AlertEventQuery {
  site: string;
  /** Inclusive start, exclusive end; ms since epoch. */
  from: number;
  to: number;
  /** Only events about this target (a rack id; unit, feed or zone ids match too). */
  rack?: string;
  /** Only this rule, e.g. InletBreach. */
  alertname?: string;
  /** At most this many, the newest; DEFAULT_ALERT_EVENT_LIMIT when absent. */
  limit?: number;
}

export const DEFAULT_ALERT_EVENT_LIMIT = 200;

export interface TelemetryStore {
  readonly name: string;
  /** Prepare the backend (create database, retention policy, directories). Throws when unreachable. */
  start(): Promise<void>;
  /**
   * Write one batch; throws when the backend did not take it (the caller spools and retries).
   * Resolves with the number of points written when the backend knows it (readings merge per target and time).
   */
  write(readings: readonly Reading[]): Promise<number | undefined>;
  query(q: HistoryQuery): Promise<HistorySeries[]>;
  /**
   * Store forecasts (derived data: the caller drops a batch the backend did not take, it is not
   * spooled). Optional: a backend without it keeps no forecasts.
   */
  writeForecasts?(records: readonly ForecastRecord[]): Promise<void>;
  /** Alert history; a backend without it keeps none. */
  writeAlertEvents?(events: readonly AlertEventRecord[]): Promise<void>;
  /** Alert history read back, newest first; present whenever writeAlertEvents is. */
  queryAlertEvents?(q: AlertEventQuery): Promise<AlertEventRecord[]>;
  /**
   * A site reload changed the layout: tags derived from it (room, row, zone) follow the new index
   * from the next write. Storage settings keep their running values. Optional: a backend that
   * derives nothing from the layout leaves it out.
   */
  setIndex?(index: SiteIndex): void;
  /** Cheap reachability check for health and retry decisions. */
  ping(): Promise<boolean>;
  health(): StoreHealth;
  stop(): Promise<void>;
}
