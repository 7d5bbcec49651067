/**
 * The data-center simulator: jobs → rack power → cooling controller → recirculation → inlet and
 * outlet temperatures, one fixed step at a time, deterministic from a seed. All per-rack state
 * lives in typed arrays and a step allocates nothing per rack, so a 10,000-rack hall steps in
 * well under a millisecond. `frame()` is the true state; `readings()` is what sensors report.
 */
import type { SiteConfig } from '../config/schema.ts';
import { buildSiteIndex, type SiteIndex } from '../config/siteIndex.ts';
import type { Reading } from '../telemetry/reading.ts';
import { LocalClock } from './clock.ts';
import { type CoolingParams, CoolingPlant, DEFAULT_COOLING } from './cooling.ts';
import { compileEvents, type EventContext, RampSet, type TimedAction } from './events.ts';
import { DEFAULT_JOB_PARAMS, JobEngine, type JobParams, type JobSpec, type JobStatus } from './jobs.ts';
import { DEFAULT_RECIRCULATION, RackLayout, type RecirculationParams } from './layout.ts';
import { MetricsAccumulator, type SimMetrics } from './metrics.ts';
import { DEFAULT_OUTDOOR, OutdoorModel } from './outdoor.ts';
import { airRiseKPerKw, defaultAirflowM3s, lagFactor } from './physics.ts';
import { type PlacementPolicy, type PlacementView, randomFit } from './placement.ts';
import type { OutdoorOptions, Scenario } from './scenario.ts';
import { DEFAULT_SENSORS, SensorModel, type SensorOptions } from './sensors.ts';
import { TariffPricer } from './tariff.ts';
import { WorkloadGenerator, type WorkloadOptions } from './workload.ts';

export interface SimOptions {
  seed: number;
  /** Simulated start, ms since epoch. */
  startTs: number;
  /** Default step, ms (1000). */
  stepMs?: number;
  /** Events, workload, weather and sensor quality; options below override it. */
  scenario?: Scenario;
  /** Rack inlet time constant, s (default 180). */
  tauSec?: number;
  /** Generated jobs; 'none' for a run driven only by placeJob (benchmarks replaying a trace). */
  workload?: WorkloadOptions | 'none';
  /** Where jobs without a rack go; default a seeded random fit (a temperature-blind scheduler). */
  placement?: PlacementPolicy;
  /** Fill the hall to the workload's current utilisation at start, so there is no empty-hall ramp (default true). */
  warmStart?: boolean;
  outdoor?: Partial<OutdoorOptions>;
  sensors?: Partial<SensorOptions>;
  recirculation?: Partial<RecirculationParams>;
  cooling?: Partial<CoolingParams>;
  jobs?: Partial<JobParams>;
  /** Facility overhead (UPS and distribution losses, lighting): share of IT power plus fixed kW. */
  overhead?: { itShare?: number; fixedKw?: number };
}

export interface SimFrame {
  ts: number;
  racks: { ids: readonly string[]; inletC: Float64Array; outletC: Float64Array; powerKw: Float64Array };
  cooling: {
    ids: readonly string[];
    supplyC: Float64Array;
    returnC: Float64Array;
    fanPct: Float64Array;
    powerKw: Float64Array;
    heatRemovedKw: Float64Array;
    failed: Uint8Array;
  };
  zones: { ids: readonly string[]; supplyC: Float64Array; loadKw: Float64Array; removedKw: Float64Array };
  site: {
    id: string;
    itKw: number;
    coolingKw: number;
    overheadKw: number;
    powerKw: number;
    outdoorC: number;
  };
}

export interface AppliedEvent {
  ts: number;
  label: string;
}

export class DataCenterSim {
  readonly index: SiteIndex;
  readonly layout: RackLayout;
  readonly cooling: CoolingPlant;
  readonly stepMs: number;
  readonly startTs: number;
  /** startTs + the scenario's duration, or undefined for an open-ended run. */
  readonly endTs: number | undefined;
  readonly appliedEvents: AppliedEvent[] = [];
  private tsNow: number;
  private readonly tauSec: number;
  private readonly jobs: JobEngine;
  private readonly generator: WorkloadGenerator | undefined;
  private readonly placement: PlacementPolicy;
  private readonly sensors: SensorModel;
  private readonly outdoor: OutdoorModel;
  private readonly clock: LocalClock;
  private readonly metricsAcc: MetricsAccumulator;
  private readonly actions: TimedAction[];
  private nextAction = 0;
  private readonly ramps = new RampSet();
  private readonly overheadItShare: number;
  private readonly overheadFixedKw: number;
  private readonly warnC: number;
  private readonly criticalC: number;
  // Per-rack state.
  private readonly powerKw: Float64Array;
  private readonly inletC: Float64Array;
  private readonly outletC: Float64Array;
  private readonly riseKPerKw: Float64Array;
  private readonly recirc: Float64Array;
  private readonly surge: Float64Array;
  private readonly capKw: Float64Array;
  private readonly aisleMult: Float64Array;
  private readonly baseAisleMult: Float64Array;
  // Per-zone scratch.
  private readonly zoneLoad: Float64Array;
  private readonly zoneOutletSum: Float64Array;
  private readonly zoneCount: Float64Array;
  private readonly zoneReturnAir: Float64Array;
  private site = { itKw: 0, coolingKw: 0, overheadKw: 0, powerKw: 0, outdoorC: 0 };
  private readonly view: PlacementView;
  private readonly eventContext: EventContext;

  constructor(site: SiteConfig, opts: SimOptions) {
    const sc = opts.scenario;
    this.index = buildSiteIndex(site);
    this.layout = new RackLayout(this.index, { ...DEFAULT_RECIRCULATION, ...opts.recirculation });
    this.cooling = new CoolingPlant(site.coolingUnits, this.layout, { ...DEFAULT_COOLING, ...opts.cooling });
    this.stepMs = opts.stepMs ?? sc?.stepMs ?? 1000;
    this.startTs = opts.startTs;
    this.tsNow = opts.startTs;
    this.endTs = sc?.duration !== undefined ? opts.startTs + sc.duration : undefined;
    this.tauSec = opts.tauSec ?? sc?.tauSec ?? 180;
    this.warnC = site.thresholds.inletWarnC;
    this.criticalC = site.thresholds.inletCriticalC;
    this.overheadItShare = opts.overhead?.itShare ?? 0.04;
    const n = this.layout.n;
    this.capKw = new Float64Array(n);
    this.riseKPerKw = new Float64Array(n);
    for (const place of this.index.racks.values()) {
      const i = this.layout.rackIndex.get(place.rack.id)!;
      this.capKw[i] = place.rack.powerCapKw;
      this.riseKPerKw[i] = airRiseKPerKw(place.rack.airflowM3s ?? defaultAirflowM3s(place.rack.powerCapKw));
    }
    this.overheadFixedKw = opts.overhead?.fixedKw ?? 0.005 * this.capKw.reduce((a, b) => a + b, 0);
    this.powerKw = new Float64Array(n);
    this.inletC = new Float64Array(n);
    this.outletC = new Float64Array(n);
    this.recirc = new Float64Array(n);
    this.surge = new Float64Array(n);
    this.aisleMult = this.layout.baseAisleMultipliers();
    this.baseAisleMult = this.layout.baseAisleMultipliers();
    const zones = this.layout.zoneIds.length;
    this.zoneLoad = new Float64Array(zones);
    this.zoneOutletSum = new Float64Array(zones);
    this.zoneCount = new Float64Array(zones);
    this.zoneReturnAir = new Float64Array(zones);

    this.clock = new LocalClock(site.site.timezone);
    const jobParams = { ...DEFAULT_JOB_PARAMS, ...opts.jobs };
    this.jobs = new JobEngine(site, this.layout, jobParams, jobParams.throttleInletC ?? this.criticalC);
    this.placement = opts.placement ?? randomFit(opts.seed);
    this.sensors = new SensorModel({ ...DEFAULT_SENSORS, ...sc?.sensors, ...opts.sensors }, opts.seed);
    this.outdoor = new OutdoorModel(
      { ...DEFAULT_OUTDOOR, ...sc?.outdoor, ...opts.outdoor },
      this.clock,
      opts.seed,
    );
    this.metricsAcc = new MetricsAccumulator(new TariffPricer(site.tariff), this.clock);
    this.actions = compileEvents(sc?.events ?? [], this.index, this.layout, opts.startTs, opts.seed);

    const workload = opts.workload ?? sc?.workload ?? 'none';
    const totalGpus = this.jobs.totalGpus.reduce((a, b) => a + b, 0);
    this.generator =
      workload === 'none' || totalGpus === 0
        ? undefined
        : new WorkloadGenerator(
            workload,
            totalGpus,
            Math.max(...this.jobs.totalGpus),
            this.clock,
            opts.seed,
            opts.startTs,
          );

    const self = this;
    this.view = {
      get now() {
        return self.tsNow;
      },
      rackIds: this.layout.rackIds,
      freeGpus: this.jobs.freeGpus,
      totalGpus: this.jobs.totalGpus,
      inletC: this.inletC,
      powerKw: this.powerKw,
      powerCapKw: this.capKw,
      zone: this.layout.zone,
    };
    this.eventContext = {
      get now() {
        return self.tsNow;
      },
      cooling: this.cooling,
      layout: this.layout,
      aisleMultiplier: this.aisleMult,
      baseAisleMultiplier: this.baseAisleMult,
      surgeUtilization: this.surge,
      sensors: this.sensors,
      ramps: this.ramps,
      trueValue: (kind, target, metric) => this.trueValue(kind, target, metric),
    };

    if (this.generator && opts.warmStart !== false) this.fillToUtilization(this.generator);
    this.settle();
  }

  get now(): number {
    return this.tsNow;
  }

  /** Start the hall with jobs already running, at the utilisation the workload targets now. */
  private fillToUtilization(gen: WorkloadGenerator): void {
    for (const spec of gen.initialJobs(this.tsNow)) this.jobs.add(spec, true);
    this.jobs.step(this.tsNow, 0, this.inletC, this.placement, this.view);
  }

  /** Put every temperature at its steady state for the current power, with no lag. */
  private settle(): void {
    this.computePower();
    this.updateCooling(1e12);
    this.updateThermal(1e12);
  }

  /** Schedule a job (see JobSpec); it starts at `start` if GPUs are free, or waits. */
  placeJob(job: JobSpec): void {
    this.jobs.add(job);
  }

  /** Cancel a scheduled, waiting or running job. */
  removeJob(id: string): boolean {
    return this.jobs.remove(id);
  }

  jobStatus(id: string): JobStatus | undefined {
    return this.jobs.status(id);
  }

  /** Advance by one step (default stepMs). */
  step(dtMs: number = this.stepMs): void {
    if (!(dtMs > 0)) throw new Error(`step must be above 0 ms, got ${dtMs}`);
    const now = this.tsNow + dtMs;
    this.tsNow = now;
    while (this.nextAction < this.actions.length && this.actions[this.nextAction]!.ts <= now) {
      const action = this.actions[this.nextAction++]!;
      action.apply(this.eventContext);
      this.appliedEvents.push({ ts: action.ts, label: action.label });
    }
    this.ramps.apply(now);
    if (this.generator) for (const spec of this.generator.generateUntil(now)) this.jobs.add(spec, true);
    this.jobs.step(now, dtMs, this.inletC, this.placement, this.view);
    this.computePower();
    this.updateCooling(dtMs);
    const sample = this.updateThermal(dtMs);
    this.metricsAcc.record(now, dtMs, {
      ...sample,
      itKw: this.site.itKw,
      coolingKw: this.site.coolingKw,
      siteKw: this.site.powerKw,
    });
  }

  /** Step until `ts` (the last step is shortened to land on it). */
  advanceTo(ts: number): void {
    while (this.tsNow < ts) this.step(Math.min(this.stepMs, ts - this.tsNow));
  }

  private computePower(): void {
    const j = this.jobs;
    const idle = DEFAULT_JOB_PARAMS.idleGpuShare;
    let it = 0;
    for (let i = 0; i < this.layout.n; i++) {
      const free = j.freeGpus[i]!;
      const p = j.steadyKw[i]! + free * j.gpuKw[i]! * (idle + (1 - idle) * this.surge[i]!) + j.jobPowerKw[i]!;
      this.powerKw[i] = p;
      it += p;
    }
    this.site.itKw = it;
  }

  private updateCooling(dtMs: number): void {
    const L = this.layout;
    this.zoneLoad.fill(0);
    this.zoneOutletSum.fill(0);
    this.zoneCount.fill(0);
    for (let i = 0; i < L.n; i++) {
      const z = L.zone[i]!;
      this.zoneLoad[z]! += this.powerKw[i]!;
      this.zoneOutletSum[z]! += this.outletC[i]!;
      this.zoneCount[z]!++;
    }
    for (let z = 0; z < this.zoneLoad.length; z++) {
      const c = this.zoneCount[z]!;
      this.zoneReturnAir[z] = c > 0 ? this.zoneOutletSum[z]! / c : this.cooling.zoneSupplyC[z]!;
    }
    const outdoorC = this.outdoor.temperatureC(this.tsNow);
    this.cooling.update(dtMs, this.zoneLoad, this.zoneReturnAir, outdoorC);
    const s = this.site;
    s.outdoorC = outdoorC;
    s.coolingKw = this.cooling.totalPowerKw();
    s.overheadKw = this.overheadFixedKw + this.overheadItShare * s.itKw;
    s.powerKw = s.itKw + s.coolingKw + s.overheadKw;
  }

  private updateThermal(dtMs: number) {
    const L = this.layout;
    L.recirculate(this.powerKw, this.aisleMult, this.recirc);
    const k = lagFactor(dtMs, this.tauSec);
    const supply = this.cooling.zoneSupplyC;
    let maxInletC = Number.NEGATIVE_INFINITY;
    let maxInletRack = -1;
    let racksAboveWarn = 0;
    let racksAboveCritical = 0;
    for (let i = 0; i < L.n; i++) {
      const target = supply[L.zone[i]!]! + this.recirc[i]!;
      const inlet = this.inletC[i]! + (target - this.inletC[i]!) * k;
      this.inletC[i] = inlet;
      this.outletC[i] = inlet + this.powerKw[i]! * this.riseKPerKw[i]!;
      if (inlet > maxInletC) {
        maxInletC = inlet;
        maxInletRack = i;
      }
      if (inlet > this.warnC) racksAboveWarn++;
      if (inlet > this.criticalC) racksAboveCritical++;
    }
    return { maxInletC, maxInletRack, racksAboveWarn, racksAboveCritical };
  }

  /** The closed form T_sup(zone_i) + Σ_j D_ij · P_j for the current supply temperatures and containment. */
  steadyStateInlets(power: Float64Array): Float64Array {
    const out = this.layout.recirculate(power, this.aisleMult, new Float64Array(this.layout.n));
    for (let i = 0; i < out.length; i++) out[i]! += this.cooling.zoneSupplyC[this.layout.zone[i]!]!;
    return out;
  }

  /** Current containment multipliers per aisle (see RackLayout.aisles). */
  aisleMultipliers(): Float64Array {
    return Float64Array.from(this.aisleMult);
  }

  /** A copy of the true state. */
  frame(): SimFrame {
    const c = this.cooling;
    return {
      ts: this.tsNow,
      racks: {
        ids: this.layout.rackIds,
        inletC: Float64Array.from(this.inletC),
        outletC: Float64Array.from(this.outletC),
        powerKw: Float64Array.from(this.powerKw),
      },
      cooling: {
        ids: c.unitIds,
        supplyC: Float64Array.from(c.supplyC),
        returnC: Float64Array.from(c.returnC),
        fanPct: Float64Array.from(c.fanPct),
        powerKw: Float64Array.from(c.powerKw),
        heatRemovedKw: Float64Array.from(c.heatRemovedKw),
        failed: Uint8Array.from(c.failed),
      },
      zones: {
        ids: this.layout.zoneIds,
        supplyC: Float64Array.from(c.zoneSupplyC),
        loadKw: Float64Array.from(c.zoneLoadKw),
        removedKw: Float64Array.from(c.zoneRemovedKw),
      },
      site: { id: this.index.site.site.id, ...this.site },
    };
  }

  /** What the sensors report now: noise, dropouts and injected faults applied. */
  readings(): Reading[] {
    const out: Reading[] = [];
    const site = this.index.site.site.id;
    const ts = this.tsNow;
    const n = this.layout.n;
    const sensors = this.sensors;
    for (let i = 0; i < n; i++) {
      const target = this.layout.rackIds[i]!;
      sensors.report(out, 'rack', site, target, 'inlet_c', ts, i * 4, this.inletC[i]!);
      sensors.report(out, 'rack', site, target, 'outlet_c', ts, i * 4 + 1, this.outletC[i]!);
      sensors.report(out, 'rack', site, target, 'power_kw', ts, i * 4 + 2, this.powerKw[i]!);
    }
    const c = this.cooling;
    for (let u = 0; u < c.unitIds.length; u++) {
      const target = c.unitIds[u]!;
      const id = (n + u) * 4;
      sensors.report(out, 'cooling', site, target, 'supply_c', ts, id, c.supplyC[u]!);
      sensors.report(out, 'cooling', site, target, 'return_c', ts, id + 1, c.returnC[u]!);
      sensors.report(out, 'cooling', site, target, 'fan_pct', ts, id + 2, c.fanPct[u]!);
      sensors.report(out, 'cooling', site, target, 'power_kw', ts, id + 3, c.powerKw[u]!);
    }
    const base = (n + c.unitIds.length) * 4;
    sensors.report(out, 'site', site, site, 'power_kw', ts, base, this.site.powerKw);
    sensors.report(out, 'site', site, site, 'outdoor_c', ts, base + 1, this.site.outdoorC);
    return out;
  }

  private trueValue(kind: 'rack' | 'cooling' | 'site', target: string, metric: string): number {
    if (kind === 'site') return metric === 'outdoor_c' ? this.site.outdoorC : this.site.powerKw;
    if (kind === 'rack') {
      const i = this.layout.rackIndex.get(target)!;
      return (metric === 'inlet_c' ? this.inletC : metric === 'outlet_c' ? this.outletC : this.powerKw)[i]!;
    }
    const u = this.cooling.unitIndex.get(target)!;
    const c = this.cooling;
    const arrays: Record<string, Float64Array> = {
      supply_c: c.supplyC,
      return_c: c.returnC,
      fan_pct: c.fanPct,
      power_kw: c.powerKw,
    };
    return arrays[metric]![u]!;
  }

  metrics(): SimMetrics {
    const m = this.metricsAcc;
    const demand = m.demandCharge();
    return {
      simulatedHours: m.simulatedMs / 3_600_000,
      peakInletC: m.peakInletC,
      peakInletRack: m.peakInletRack >= 0 ? this.layout.rackIds[m.peakInletRack] : undefined,
      rackMinutesAboveWarn: m.rackMsAboveWarn / 60_000,
      rackMinutesAboveCritical: m.rackMsAboveCritical / 60_000,
      itKwh: m.itKwh,
      coolingKwh: m.coolingKwh,
      facilityKwh: m.facilityKwh,
      pue: m.itKwh > 0 ? m.facilityKwh / m.itKwh : Number.NaN,
      peakSiteKw: m.peakSiteKw,
      currency: new TariffPricer(this.index.site.tariff).currency,
      energyCost: m.energyCost,
      demandCharge: demand,
      totalCost: m.energyCost + demand,
      carbonKg: m.carbonKg,
      jobsCompleted: this.jobs.completed,
      jobsRunning: this.jobs.runningCount,
      jobsWaiting: this.jobs.waitingCount,
      deadlineMisses: this.jobs.missedDeadlines + this.jobs.overdueUnfinished(this.tsNow),
      meanWaitMinutes:
        this.jobs.completed + this.jobs.runningCount > 0
          ? this.jobs.totalWaitMs / 60_000 / (this.jobs.completed + this.jobs.runningCount)
          : 0,
    };
  }
}
