/** What every rule reads: the site, thresholds (with per room/row/rack overrides), readings, forecasts. */
import type { AlertSettings, SiteConfig } from '../config/schema.ts';
import type { SiteIndex } from '../config/siteIndex.ts';
import type { Hotspot } from '../forecast/hotspots.ts';
import type { ImplausibleView } from './implausibleState.ts';
import type { ReadingView, SeriesState } from './readingState.ts';
import type { Labels, RuleName, Severity } from './types.ts';

export interface RackThresholds {
  inletWarnC: number;
  inletCriticalC: number;
  powerWarnPct: number;
}

export interface RuleContext {
  now: number;
  index: SiteIndex;
  settings: AlertSettings;
  readings: ReadingView;
  /** Out-of-range values refused at ingest; absent when nothing reports them. */
  implausible?: ImplausibleView;
  /** Current hotspots from the latest (fresh) forecast; empty without forecasts. */
  hotspots: readonly Hotspot[];
  /** Severity of the alert while it is active (pending or firing), for hysteresis; undefined when not. */
  activeSeverity(rule: RuleName, labels: Labels): Severity | undefined;
}

/** The most specific override wins: rack over row over room over the site's thresholds. */
export function thresholdsFor(site: SiteConfig, index: SiteIndex, rack: string): RackThresholds {
  const base: RackThresholds = { ...site.thresholds };
  const place = index.racks.get(rack);
  if (!place) return base;
  const specificity = (o: AlertSettings['overrides'][number]) => (o.rack ? 3 : o.row ? 2 : o.room ? 1 : 0);
  const matching = site.alerts.overrides
    .filter(
      (o) =>
        (o.rack === undefined || o.rack === rack) &&
        (o.row === undefined || o.row === place.row) &&
        (o.room === undefined || o.room === place.room),
    )
    .sort((a, b) => specificity(a) - specificity(b));
  for (const o of matching) {
    if (o.inletWarnC !== undefined) base.inletWarnC = o.inletWarnC;
    if (o.inletCriticalC !== undefined) base.inletCriticalC = o.inletCriticalC;
    if (o.powerWarnPct !== undefined) base.powerWarnPct = o.powerWarnPct;
  }
  return base;
}

export function staleAfterMs(settings: AlertSettings): number {
  return settings.readingIntervalSeconds * settings.staleIntervals * 1000;
}

/** A series recent enough to judge by; stale ones are the sensor-health rule's business. */
export function fresh(ctx: RuleContext, s: SeriesState | undefined): s is SeriesState {
  return s !== undefined && ctx.now - s.ts <= staleAfterMs(ctx.settings);
}

export function rackLabels(ctx: RuleContext, rack: string): Record<string, string> {
  const place = ctx.index.racks.get(rack);
  const labels: Record<string, string> = { site: ctx.index.site.site.id };
  if (place) {
    labels.room = place.room;
    labels.row = place.row;
  }
  labels.rack = rack;
  return labels;
}

export function unitLabels(ctx: RuleContext, unit: string): Record<string, string> {
  const u = ctx.index.coolingUnits.get(unit);
  return { site: ctx.index.site.site.id, ...(u ? { room: u.room, zone: u.zone } : {}), unit };
}

/**
 * Level of a value against warn/critical thresholds with hysteresis: an active alert stays at its
 * level until the value falls `hysteresis` below that level's threshold, so hovering does not flap.
 */
export function levelWithHysteresis(
  value: number,
  warn: number,
  critical: number,
  hysteresis: number,
  active: Severity | undefined,
): Severity | undefined {
  if (value >= critical || (active === 'critical' && value > critical - hysteresis)) return 'critical';
  if (value >= warn || (active !== undefined && value > warn - hysteresis)) return 'warning';
  return undefined;
}

export const round = (v: number, digits = 1) => Math.round(v * 10 ** digits) / 10 ** digits;
