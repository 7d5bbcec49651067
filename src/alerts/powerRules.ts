/** Power rules: rack and feed near their caps, site near its cap, A/B redundancy lost. */
import {
  fresh,
  levelWithHysteresis,
  type RuleContext,
  rackLabels,
  round,
  thresholdsFor,
} from './ruleContext.ts';
import type { Condition } from './types.ts';

/** Fresh rack loads, kW. */
function rackLoads(ctx: RuleContext): Map<string, number> {
  const loads = new Map<string, number>();
  for (const [rack, s] of ctx.readings.all('rack', 'power_kw')) {
    if (fresh(ctx, s) && ctx.index.racks.has(rack)) loads.set(rack, s.value);
  }
  return loads;
}

export function rackPowerHigh(ctx: RuleContext): Condition[] {
  const out: Condition[] = [];
  for (const [rack, kw] of rackLoads(ctx)) {
    const cap = ctx.index.racks.get(rack)!.rack.powerCapKw;
    const pct = (kw / cap) * 100;
    const labels = rackLabels(ctx, rack);
    const warnPct = thresholdsFor(ctx.index.site, ctx.index, rack).powerWarnPct;
    const level = levelWithHysteresis(
      pct,
      warnPct,
      100,
      ctx.settings.hysteresisPct,
      ctx.activeSeverity('RackPowerHigh', labels),
    );
    if (!level) continue;
    out.push({
      rule: 'RackPowerHigh',
      labels,
      severity: level,
      value: round(pct),
      summary: `Rack ${rack} draws ${round(kw, 2)} kW, ${round(pct)} % of its ${cap} kW cap`,
      description: `Rack ${rack} power is above ${level === 'critical' ? 'its cap' : `${warnPct} % of its cap`}; move or throttle work before the breaker trips.`,
    });
  }
  return out;
}

/**
 * Per feed: normal load (dual-fed racks split half and half) against the feed's capacity, and the
 * load it would carry if a partner feed failed (every rack it shares with that partner moves over in
 * full). The latter above capacity means A/B redundancy is lost.
 */
export function feedRules(ctx: RuleContext): Condition[] {
  const out: Condition[] = [];
  const site = ctx.index.site;
  const capacity = new Map(site.powerFeeds.map((f) => [f.id, f.capacityKw]));
  if (capacity.size === 0) return out;
  const loads = rackLoads(ctx);
  const normal = new Map<string, number>();
  // failover.get(Y).get(X): load on Y when X fails.
  const failover = new Map<string, Map<string, number>>();
  for (const [rack, kw] of loads) {
    const { a, b } = ctx.index.racks.get(rack)!.rack.feeds;
    normal.set(a, (normal.get(a) ?? 0) + (b ? kw / 2 : kw));
    if (b) normal.set(b, (normal.get(b) ?? 0) + kw / 2);
  }
  for (const [rack, kw] of loads) {
    const { a, b } = ctx.index.racks.get(rack)!.rack.feeds;
    if (!b) continue;
    for (const [survivor, failed] of [
      [a, b],
      [b, a],
    ] as const) {
      const byFailed = failover.get(survivor) ?? new Map<string, number>();
      // Start from the survivor's normal load and move this rack's other half over.
      byFailed.set(failed, (byFailed.get(failed) ?? normal.get(survivor) ?? 0) + kw / 2);
      failover.set(survivor, byFailed);
    }
  }
  const siteId = site.site.id;
  const warnPct = site.thresholds.powerWarnPct;
  for (const [feed, kw] of normal) {
    const cap = capacity.get(feed);
    if (cap === undefined) continue;
    const pct = (kw / cap) * 100;
    const labels = { site: siteId, feed };
    const level = levelWithHysteresis(
      pct,
      warnPct,
      100,
      ctx.settings.hysteresisPct,
      ctx.activeSeverity('FeedPowerHigh', labels),
    );
    if (level) {
      out.push({
        rule: 'FeedPowerHigh',
        labels,
        severity: level,
        value: round(pct),
        summary: `Power feed ${feed} carries ${round(kw, 1)} kW, ${round(pct)} % of its ${cap} kW`,
        description: `Feed ${feed} is near or above its breaker rating.`,
      });
    }
  }
  for (const [survivor, byFailed] of failover) {
    const cap = capacity.get(survivor);
    if (cap === undefined) continue;
    let worst: { failed: string; kw: number } | undefined;
    for (const [failed, kw] of byFailed) if (!worst || kw > worst.kw) worst = { failed, kw };
    if (!worst) continue;
    const pct = (worst.kw / cap) * 100;
    const labels = { site: siteId, feed: survivor };
    const active = ctx.activeSeverity('RedundancyLost', labels) !== undefined;
    if (pct <= 100 && !(active && pct > 100 - ctx.settings.hysteresisPct)) continue;
    out.push({
      rule: 'RedundancyLost',
      labels,
      severity: 'warning',
      value: round(pct),
      summary: `A/B redundancy lost: if feed ${worst.failed} fails, feed ${survivor} must carry ${round(worst.kw, 1)} kW (${round(pct)} % of ${cap} kW)`,
      description: `The load of the racks fed from ${survivor} and ${worst.failed} no longer fits on ${survivor} alone; a single feed failure would overload it.`,
      annotations: { failed_feed: worst.failed },
    });
  }
  return out;
}

export function sitePowerHigh(ctx: RuleContext): Condition[] {
  const site = ctx.index.site;
  const cap = site.powerCapKw;
  if (cap === undefined) return [];
  const measured = ctx.readings.get('site', site.site.id, 'power_kw');
  let kw: number;
  if (fresh(ctx, measured)) kw = measured.value;
  else {
    const loads = rackLoads(ctx);
    if (loads.size === 0) return [];
    kw = [...loads.values()].reduce((a, b) => a + b, 0);
  }
  const pct = (kw / cap) * 100;
  const labels = { site: site.site.id };
  const level = levelWithHysteresis(
    pct,
    site.thresholds.powerWarnPct,
    100,
    ctx.settings.hysteresisPct,
    ctx.activeSeverity('SitePowerHigh', labels),
  );
  if (!level) return [];
  return [
    {
      rule: 'SitePowerHigh',
      labels,
      severity: level,
      value: round(pct),
      summary: `Site ${site.site.id} draws ${round(kw, 1)} kW, ${round(pct)} % of its ${cap} kW cap`,
      description: 'Site power is near its cap; defer batch work or shift it to another site.',
    },
  ];
}
