/**
 * Run metrics a benchmark compares policies on: thermal (peak inlet, rack-minutes above the warn
 * and critical thresholds), energy (IT, cooling, facility kWh), money under the site tariff
 * (energy plus the demand charge on each month's peak) and carbon. Updated once per step from
 * scalars the simulator already computed, so recording costs O(1).
 */
import type { LocalClock } from './clock.ts';
import type { TariffPricer } from './tariff.ts';

export interface SimMetrics {
  simulatedHours: number;
  peakInletC: number;
  peakInletRack: string | undefined;
  rackMinutesAboveWarn: number;
  rackMinutesAboveCritical: number;
  itKwh: number;
  coolingKwh: number;
  /** IT + cooling + overhead. */
  facilityKwh: number;
  /** facilityKwh / itKwh. */
  pue: number;
  peakSiteKw: number;
  currency: string;
  /** Energy cost under the tariff's prices. */
  energyCost: number;
  /** Demand charge on each calendar month's peak site power. */
  demandCharge: number;
  totalCost: number;
  carbonKg: number;
  jobsCompleted: number;
  jobsRunning: number;
  jobsWaiting: number;
  /** Jobs that finished after their deadline, plus unfinished jobs already past it. */
  deadlineMisses: number;
  meanWaitMinutes: number;
}

export interface StepSample {
  itKw: number;
  coolingKw: number;
  siteKw: number;
  maxInletC: number;
  maxInletRack: number;
  racksAboveWarn: number;
  racksAboveCritical: number;
}

export class MetricsAccumulator {
  simulatedMs = 0;
  peakInletC = Number.NEGATIVE_INFINITY;
  peakInletRack = -1;
  rackMsAboveWarn = 0;
  rackMsAboveCritical = 0;
  itKwh = 0;
  coolingKwh = 0;
  facilityKwh = 0;
  energyCost = 0;
  carbonKg = 0;
  peakSiteKw = 0;
  private readonly monthPeaks = new Map<number, number>();

  constructor(
    private readonly pricer: TariffPricer,
    private readonly clock: LocalClock,
  ) {}

  /** Account for the step that ended at `now` and lasted dtMs, at the powers of its end. */
  record(now: number, dtMs: number, s: StepSample): void {
    this.simulatedMs += dtMs;
    if (s.maxInletC > this.peakInletC) {
      this.peakInletC = s.maxInletC;
      this.peakInletRack = s.maxInletRack;
    }
    this.rackMsAboveWarn += s.racksAboveWarn * dtMs;
    this.rackMsAboveCritical += s.racksAboveCritical * dtMs;
    const hours = dtMs / 3_600_000;
    this.itKwh += s.itKw * hours;
    this.coolingKwh += s.coolingKw * hours;
    const kwh = s.siteKw * hours;
    this.facilityKwh += kwh;
    const local = this.clock.at(now);
    this.energyCost += kwh * this.pricer.pricePerKwh(local);
    this.carbonKg += (kwh * this.pricer.carbonGPerKwh(local)) / 1000;
    if (s.siteKw > this.peakSiteKw) this.peakSiteKw = s.siteKw;
    const month = local.year * 12 + local.month;
    if (s.siteKw > (this.monthPeaks.get(month) ?? 0)) this.monthPeaks.set(month, s.siteKw);
  }

  demandCharge(): number {
    let sum = 0;
    for (const peak of this.monthPeaks.values()) sum += peak * this.pricer.demandChargePerKw;
    return sum;
  }
}
