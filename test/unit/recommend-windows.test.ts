import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { TariffConfig } from '../../src/config/schema.ts';
import { TariffSchema } from '../../src/config/schema.ts';
import { ReservationPlan } from '../../src/recommend/reservations.ts';
import { RecommendService } from '../../src/recommend/service.ts';
import { costOf, planWindow, type WindowEnv, type WindowJob } from '../../src/recommend/windows.ts';
import { LocalClock } from '../../src/sim/clock.ts';
import { coefficientOfPerformance } from '../../src/sim/physics.ts';
import { TariffPricer } from '../../src/sim/tariff.ts';
import { rackReadings, recommendIndex } from './recommend-fixture.ts';

const H = 3_600_000;
/** Monday 30 November 2026, 00:00 UTC. */
const MON = Date.UTC(2026, 10, 30);

const dayTariff = TariffSchema.parse({
  basePricePerKwh: 0.1,
  periods: [
    { name: 'day', days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '08:00', to: '20:00', pricePerKwh: 0.3 },
  ],
});

function env(tariff: TariffConfig, over: Partial<WindowEnv> = {}): WindowEnv {
  return {
    tariff: new TariffPricer(tariff),
    clock: new LocalClock('UTC'),
    siteCapKw: undefined,
    baseItKw: () => 0,
    reservedKw: () => 0,
    supplyC: () => 18,
    monthPeakFacilityKw: 0,
    ...over,
  };
}

const total = (segs: Array<{ startTs: number; endTs: number }>) =>
  segs.reduce((s, x) => s + x.endTs - x.startTs, 0);

describe('batch windows', () => {
  it('moves a contiguous job out of the day rate and counts cooling energy', () => {
    const job: WindowJob = {
      powerKw: 50,
      durationMin: 120,
      earliestStart: MON + 10 * H,
      deadline: MON + 34 * H,
      pausable: false,
    };
    const e = env(dayTariff);
    const plan = planWindow(job, e);
    expect(plan.feasible).toBe(true);
    expect(plan.segments).toHaveLength(1);
    const seg = plan.segments[0]!;
    expect(seg.startTs).toBe(MON + 20 * H);
    expect(seg.endTs - seg.startTs).toBe(2 * H);
    const cop = coefficientOfPerformance(18);
    expect(plan.energyKwh).toBeCloseTo(100, 6);
    expect(plan.coolingKwh).toBeCloseTo(100 / cop, 6);
    expect(plan.cost).toBeCloseTo((100 + 100 / cop) * 0.1, 6);
    const now = costOf(job, e, [{ startTs: job.earliestStart, endTs: job.earliestStart + 2 * H }]);
    expect(now.cost).toBeCloseTo((100 + 100 / cop) * 0.3, 6);
  });

  it('never ends after the deadline nor starts before the earliest start', () => {
    let rand = 12345;
    const next = () => {
      rand = (rand * 1103515245 + 12345) % 2 ** 31;
      return rand / 2 ** 31;
    };
    for (let i = 0; i < 200; i++) {
      const earliestStart = MON + Math.floor(next() * 96) * 15 * 60_000 + Math.floor(next() * 900_000);
      const durationMin = 5 + Math.floor(next() * 600);
      const deadline = earliestStart + durationMin * 60_000 + Math.floor(next() * 30 * H);
      const job: WindowJob = {
        powerKw: 10 + next() * 90,
        durationMin,
        earliestStart,
        deadline,
        pausable: next() < 0.5,
      };
      const plan = planWindow(job, env(dayTariff));
      expect(plan.feasible).toBe(true);
      for (const s of plan.segments) {
        expect(s.startTs).toBeGreaterThanOrEqual(earliestStart);
        expect(s.endTs).toBeLessThanOrEqual(deadline);
      }
      expect(total(plan.segments)).toBe(Math.round(durationMin * 60_000));
    }
  });

  it('refuses a job that cannot fit before its deadline', () => {
    const plan = planWindow(
      { powerKw: 10, durationMin: 90, earliestStart: MON, deadline: MON + H, pausable: true },
      env(dayTariff),
    );
    expect(plan.feasible).toBe(false);
  });

  it('splits a pausable job across the cheap tariff periods', () => {
    const nights = TariffSchema.parse({
      basePricePerKwh: 0.2,
      periods: [
        { name: 'cheap1', from: '00:00', to: '02:00', pricePerKwh: 0.05 },
        { name: 'cheap2', from: '04:00', to: '06:00', pricePerKwh: 0.06 },
      ],
    });
    const job: WindowJob = {
      powerKw: 20,
      durationMin: 180,
      earliestStart: MON,
      deadline: MON + 8 * H,
      pausable: true,
    };
    const plan = planWindow(job, env(nights));
    expect(plan.segments).toEqual([
      { startTs: MON, endTs: MON + 2 * H },
      { startTs: MON + 4 * H, endTs: MON + 5 * H },
    ]);
    const contiguous = planWindow({ ...job, pausable: false }, env(nights));
    expect(contiguous.segments).toHaveLength(1);
    expect(plan.cost).toBeLessThan(contiguous.cost);
  });

  it('keeps under the site power cap', () => {
    // The cheap night is full (base load near the cap), so the job runs in the day.
    const plan = planWindow(
      { powerKw: 40, durationMin: 60, earliestStart: MON, deadline: MON + 24 * H, pausable: false },
      env(dayTariff, { siteCapKw: 100, baseItKw: (ts) => ((ts - MON) % (24 * H) < 8 * H ? 80 : 30) }),
    );
    expect(plan.feasible).toBe(true);
    expect(plan.segments[0]!.startTs).toBeGreaterThanOrEqual(MON + 8 * H);
    expect(plan.segments[0]!.endTs).toBeLessThanOrEqual(MON + 20 * H + H);
  });

  it('charges the demand rise above the month peak', () => {
    const withDemand = TariffSchema.parse({ ...dayTariff, demandChargePerKw: 10 });
    const job: WindowJob = {
      powerKw: 30,
      durationMin: 60,
      earliestStart: MON,
      deadline: MON + 2 * H,
      pausable: false,
    };
    const cop = coefficientOfPerformance(18);
    const c = costOf(job, env(withDemand, { baseItKw: () => 50, monthPeakFacilityKw: 50 * (1 + 1 / cop) }), [
      { startTs: MON, endTs: MON + H },
    ]);
    expect(c.demandCost).toBeCloseTo(30 * (1 + 1 / cop) * 10, 6);
  });

  it('with a demand charge, a second job avoids raising the peak the first one set', () => {
    const plan = new ReservationPlan();
    const tariff = TariffSchema.parse({
      basePricePerKwh: 0.2,
      demandChargePerKw: 10,
      periods: [{ name: 'cheap', from: '02:00', to: '03:00', pricePerKwh: 0.15 }],
    });
    const e = env(tariff, { baseItKw: () => 40, reservedKw: (ts) => plan.reservedKw(ts) });
    const job: WindowJob = {
      powerKw: 40,
      durationMin: 60,
      earliestStart: MON,
      deadline: MON + 6 * H,
      pausable: false,
    };
    const first = planWindow(job, e);
    expect(first.segments[0]).toEqual({ startTs: MON + 2 * H, endTs: MON + 3 * H });
    plan.add({ id: 'one', powerKw: 40, segments: first.segments, acceptedAt: MON });
    const second = planWindow(job, e);
    const s = second.segments[0]!;
    // Stacking would add 40 kW of peak (≈ 550 a month) to save 1 h × 0.05/kWh: it runs beside, not on top.
    expect(s.endTs <= MON + 2 * H || s.startTs >= MON + 3 * H).toBe(true);
    expect(second.demandCost).toBe(0);
  });

  it('spreads accepted reservations so jobs do not pile into the same cheap hour', () => {
    const plan = new ReservationPlan();
    const cheapHour = TariffSchema.parse({
      basePricePerKwh: 0.3,
      periods: [{ name: 'cheap', from: '02:00', to: '03:00', pricePerKwh: 0.05 }],
    });
    const e = env(cheapHour, { siteCapKw: 100, baseItKw: () => 40, reservedKw: (ts) => plan.reservedKw(ts) });
    const job: WindowJob = {
      powerKw: 40,
      durationMin: 60,
      earliestStart: MON,
      deadline: MON + 6 * H,
      pausable: false,
    };
    const first = planWindow(job, e);
    expect(first.segments[0]).toEqual({ startTs: MON + 2 * H, endTs: MON + 3 * H });
    plan.add({ id: 'one', powerKw: 40, segments: first.segments, acceptedAt: MON });
    const second = planWindow(job, e);
    expect(second.feasible).toBe(true);
    const s = second.segments[0]!;
    // 40 + 40 + 40 kW would cross the 100 kW cap: the second job may not overlap the first.
    expect(s.endTs <= MON + 2 * H || s.startTs >= MON + 3 * H).toBe(true);
  });
});

describe('batch window service', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('answers with the saving, Carbon-Aware-SDK points and Slurm --begin, and persists accepted windows', () => {
    dir = mkdtempSync(join(tmpdir(), 'hotaisle-recommend-'));
    const index = recommendIndex({ siteCapKw: 200 });
    let now = MON + 10 * H;
    const svc = new RecommendService({ index, dataDir: dir, now: () => now });
    svc.state.observe(rackReadings({ a1: { kw: 10 }, b1: { kw: 10 } }));
    const res = svc.batchWindow({ powerKw: 50, durationMin: 120, deadline: MON + 34 * H, pausable: false });
    expect(res.feasible).toBe(true);
    expect(res.start).toBe(new Date(MON + 20 * H).toISOString());
    expect(res.saving).toBeGreaterThan(0);
    expect(res.costNow! - res.expectedCost!).toBeCloseTo(res.saving!, 1);
    expect(res.slurmBegin).toBe('--begin=2026-11-30T20:00:00');
    expect(res.optimalDataPoints).toEqual([
      { location: 'rt', timestamp: res.start, duration: 120, value: 0 },
    ]);

    const acc = svc.accept(res.id);
    expect(acc.segments[0]!.startTs).toBe(MON + 20 * H);
    expect(() => svc.accept(res.id)).toThrow(/already accepted/);
    expect(() => svc.accept('nope')).toThrow(/not found/);

    const again = new RecommendService({ index, dataDir: dir, now: () => now });
    expect(again.plan.load()).toBeUndefined();
    expect(again.plan.reservedKw(MON + 21 * H)).toBe(50);
    now = MON + 23 * H;
    again.plan.prune(now);
    expect(again.plan.list()).toHaveLength(0);
  });
});
