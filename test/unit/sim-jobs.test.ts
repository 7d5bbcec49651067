import { describe, expect, it } from 'vitest';
import { smallTwoRoomSite } from '../../src/sim/fixtures.ts';
import { firstFit, type PlacementPolicy } from '../../src/sim/placement.ts';
import { DataCenterSim } from '../../src/sim/simulator.ts';

const T0 = Date.UTC(2025, 5, 2, 0, 0, 0); // a Monday, UTC
const MIN = 60_000;
const HOUR = 60 * MIN;

const power = (sim: DataCenterSim, id: string) => sim.frame().racks.powerKw[sim.layout.rackIndex.get(id)!]!;

describe('jobs drive rack power', () => {
  it('a pinned job adds its GPUs at load over their idle draw, for its duration', () => {
    const sim = new DataCenterSim(smallTwoRoomSite(), { seed: 1, startTs: T0 });
    const idle = power(sim, 'r11');
    expect(idle).toBeCloseTo(3 * 1.0 * 0.8 + 24 * 0.7 * 0.25, 9); // steady base + idle GPUs
    sim.placeJob({
      id: 'train',
      gpus: 8,
      rackId: 'r11',
      start: T0 + 10 * MIN,
      durationMs: 30 * MIN,
      powerPerGpuKw: 0.65,
    });
    sim.advanceTo(T0 + 5 * MIN);
    expect(sim.jobStatus('train')?.state).toBe('scheduled');
    sim.advanceTo(T0 + 20 * MIN);
    expect(power(sim, 'r11')).toBeCloseTo(idle + 8 * (0.65 - 0.7 * 0.25), 9);
    sim.advanceTo(T0 + 41 * MIN);
    const status = sim.jobStatus('train')!;
    expect(status.state).toBe('done');
    expect(status.finishedTs! - status.startedTs!).toBeCloseTo(30 * MIN, -4);
    expect(power(sim, 'r11')).toBeCloseTo(idle, 9);
  });

  it('splits a job over named nodes and their racks; waits when GPUs are taken; cancels', () => {
    const sim = new DataCenterSim(smallTwoRoomSite(), { seed: 1, startTs: T0 });
    sim.placeJob({
      id: 'wide',
      gpus: 24,
      nodeNames: ['r11-n1', 'r11-n2', 'r12-n1'],
      start: T0,
      durationMs: HOUR,
    });
    sim.placeJob({ id: 'blocked', gpus: 24, rackId: 'r11', start: T0, durationMs: HOUR });
    sim.advanceTo(T0 + MIN);
    expect(sim.jobStatus('wide')?.racks.sort()).toEqual(['r11', 'r12']);
    expect(sim.jobStatus('blocked')?.state).toBe('waiting');
    expect(sim.removeJob('wide')).toBe(true);
    sim.step();
    expect(sim.jobStatus('wide')?.state).toBe('cancelled');
    expect(sim.jobStatus('blocked')?.state).toBe('running');
    expect(() => sim.placeJob({ id: 'x', gpus: 4, rackId: 'nope', start: T0, durationMs: MIN })).toThrow(
      /no rack "nope"/,
    );
    expect(() => sim.placeJob({ id: 'blocked', gpus: 4, start: T0, durationMs: MIN })).toThrow(
      /already placed/,
    );
  });

  it('hot racks throttle: the job runs slower and misses a deadline it would otherwise meet', () => {
    const run = (throttleInletC: number) => {
      const sim = new DataCenterSim(smallTwoRoomSite(), { seed: 1, startTs: T0, jobs: { throttleInletC } });
      sim.placeJob({
        id: 'j',
        gpus: 24,
        rackId: 'r13',
        start: T0,
        durationMs: HOUR,
        deadline: T0 + 70 * MIN,
      });
      sim.advanceTo(T0 + 2 * HOUR);
      return { status: sim.jobStatus('j')!, metrics: sim.metrics() };
    };
    const cool = run(60);
    const hot = run(10); // every inlet is above 10 °C
    expect(cool.status.missedDeadline).toBe(false);
    expect(cool.metrics.deadlineMisses).toBe(0);
    expect(hot.status.missedDeadline).toBe(true);
    expect(hot.metrics.deadlineMisses).toBe(1);
    expect(hot.status.finishedTs! - hot.status.startedTs!).toBeCloseTo(HOUR / 0.75, -4);
  });

  it('replays one trace under different placement policies', () => {
    const trace = Array.from({ length: 12 }, (_, k) => ({
      id: `t${k}`,
      gpus: 8,
      start: T0 + k * MIN,
      durationMs: 3 * HOUR,
    }));
    // A spreading policy, written against the public PlacementView: most free GPUs wins.
    const mostFree: PlacementPolicy = (job, view) => {
      let best = -1;
      for (let i = 0; i < view.rackIds.length; i++) {
        if (view.freeGpus[i]! >= job.gpus && (best < 0 || view.freeGpus[i]! > view.freeGpus[best]!)) best = i;
      }
      return best < 0 ? null : view.rackIds[best]!;
    };
    const replay = (placement: PlacementPolicy) => {
      const sim = new DataCenterSim(smallTwoRoomSite(), {
        seed: 1,
        startTs: T0,
        placement,
        workload: 'none',
      });
      for (const job of trace) sim.placeJob(job);
      sim.advanceTo(T0 + 2 * HOUR);
      return { sim, racks: trace.map((j) => sim.jobStatus(j.id)!.racks[0]) };
    };
    const packed = replay(firstFit);
    const spread = replay(mostFree);
    expect(new Set(packed.racks).size).toBe(4); // 12 × 8 GPUs fill four 24-GPU racks
    expect(new Set(spread.racks).size).toBe(12);
    // Packing the row start concentrates heat: its peak inlet is the higher one.
    expect(packed.sim.metrics().peakInletC).toBeGreaterThan(spread.sim.metrics().peakInletC);
  });
});

describe('metrics', () => {
  it('prices energy under the tariff and counts rack-minutes above warn', () => {
    const site = smallTwoRoomSite();
    site.thresholds.inletWarnC = 15; // every rack is above it
    site.tariff!.demandChargePerKw = 2;
    const sim = new DataCenterSim(site, {
      seed: 1,
      startTs: T0 + 12 * HOUR,
      outdoor: { amplitudeC: 0, dayToDayC: 0 },
    });
    sim.advanceTo(T0 + 13 * HOUR); // inside the 12:00–14:00 peak period
    const m = sim.metrics();
    expect(m.simulatedHours).toBeCloseTo(1, 12);
    expect(m.energyCost).toBeCloseTo(m.facilityKwh * 0.5, 6);
    expect(m.facilityKwh).toBeGreaterThan(m.itKwh + m.coolingKwh);
    expect(m.rackMinutesAboveWarn).toBeCloseTo(sim.layout.n * 60, 6);
    expect(m.rackMinutesAboveCritical).toBe(0);
    expect(m.demandCharge).toBeCloseTo(2 * m.peakSiteKw, 9);
    expect(m.totalCost).toBeCloseTo(m.energyCost + m.demandCharge, 9);
    expect(m.pue).toBeGreaterThan(1.2);
    expect(m.pue).toBeLessThan(1.7);
  });

  it('a generated workload follows the daily cycle', () => {
    const sim = new DataCenterSim(smallTwoRoomSite(), {
      seed: 4,
      startTs: T0,
      workload: {
        utilization: 0.5,
        diurnalAmplitude: 0.6,
        peakHour: 15,
        weekendFactor: 1,
        meanJobMinutes: 30,
        jobGpus: [4, 8],
      },
    });
    const itAt = (hour: number) => {
      sim.advanceTo(T0 + hour * HOUR);
      return sim.frame().site.itKw;
    };
    const night = itAt(3);
    const afternoon = itAt(15);
    expect(afternoon).toBeGreaterThan(night * 1.3);
    expect(sim.metrics().jobsCompleted).toBeGreaterThan(50);
  });
});
