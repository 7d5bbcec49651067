/** Energy price and carbon intensity at a local time under a site tariff. Pure. */
import type { TariffConfig } from '../config/schema.ts';
import { inDailyWindow, type LocalTime, parseHhmm } from './clock.ts';

const DAY_NAMES = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;

interface CompiledPeriod {
  days: Set<number>;
  from: number;
  to: number;
  months: Set<number> | undefined;
  price: number;
}

export class TariffPricer {
  private readonly periods: CompiledPeriod[];

  constructor(readonly tariff: TariffConfig | undefined) {
    this.periods = (tariff?.periods ?? []).map((p) => ({
      days: new Set(p.days.map((d) => DAY_NAMES.indexOf(d))),
      from: parseHhmm(p.from),
      to: parseHhmm(p.to),
      months: p.months ? new Set(p.months) : undefined,
      price: p.pricePerKwh,
    }));
  }

  /** Price per kWh; the first matching period wins, the base price otherwise; 0 without a tariff. */
  pricePerKwh(local: LocalTime): number {
    if (!this.tariff) return 0;
    for (const p of this.periods) {
      if (p.months && !p.months.has(local.month)) continue;
      // A period that wraps past midnight belongs to the day it started on.
      const wrapsIntoToday = p.from > p.to && local.minuteOfDay < p.to;
      const day = wrapsIntoToday ? (local.weekday + 6) % 7 : local.weekday;
      if (!p.days.has(day)) continue;
      if (inDailyWindow(local.minuteOfDay, p.from, p.to)) return p.price;
    }
    return this.tariff.basePricePerKwh;
  }

  /** gCO2 per kWh at this local hour, or 0 when the tariff gives no carbon intensity. */
  carbonGPerKwh(local: LocalTime): number {
    const byHour = this.tariff?.carbonByHour;
    return byHour ? (byHour[Math.floor(local.minuteOfDay / 60)] ?? 0) : 0;
  }

  get demandChargePerKw(): number {
    return this.tariff?.demandChargePerKw ?? 0;
  }

  get currency(): string {
    return this.tariff?.currency ?? 'EUR';
  }
}
