/**
 * The recommendation service: current state, thermal model, batch plan and pending proposals
 * behind the calls the API makes. No HTTP here; the routes only translate.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { HttpError, notFound } from '../api/errors.ts';
import type { SiteIndex } from '../config/siteIndex.ts';
import { LocalClock } from '../sim/clock.ts';
import { TariffPricer } from '../sim/tariff.ts';
import type { ExtenderArgs, ExtenderFilterResult, HostPriorityList } from './k8s.ts';
import { extenderFilter, extenderPrioritize } from './k8s.ts';
import { type PlacementContext, rankPlacements } from './placement.ts';
import { ReservationPlan } from './reservations.ts';
import type { BatchWindowRequest, BatchWindowResponse, PlacementJob, PlacementResponse } from './schemas.ts';
import { type SlurmNodeWeight, slurmWeights } from './slurm.ts';
import { ClusterState } from './state.ts';
import {
  type ForecastSource,
  forecastThermalModel,
  LayoutThermalModel,
  type ThermalModel,
} from './thermal.ts';
import { costOf, type Interval, planWindow, type WindowEnv, type WindowPlan } from './windows.ts';

export interface RecommendServiceOptions {
  index: SiteIndex;
  /** Plan file goes to `<dataDir>/recommend/reservations.json`; in memory when absent. */
  dataDir?: string;
  now?: () => number;
  /** The forecast-backed model when a forecaster runs; the layout estimate otherwise. */
  thermal?: () => ThermalModel | undefined;
  /** Or just the forecaster's outputs: wrapped with the layout estimate as the fallback for gaps. */
  forecast?: () => ForecastSource | undefined;
}

interface Proposal {
  plan: WindowPlan;
  powerKw: number;
  expiresTs: number;
}

/** How long a proposed window can be accepted. */
export const PROPOSAL_TTL_MS = 60 * 60_000;
const MAX_PROPOSALS = 10_000;

const round2 = (v: number) => Math.round(v * 100) / 100;
const iso = (ts: number) => new Date(ts).toISOString();

export class RecommendService {
  readonly state: ClusterState;
  readonly plan: ReservationPlan;
  readonly layout: LayoutThermalModel;
  private readonly proposals = new Map<string, Proposal>();
  private readonly now: () => number;
  private readonly tariff: TariffPricer;
  private readonly clock: LocalClock;
  private readonly localFormat: Intl.DateTimeFormat;

  constructor(private readonly opts: RecommendServiceOptions) {
    const site = opts.index.site;
    this.state = new ClusterState(opts.index);
    this.layout = new LayoutThermalModel(opts.index, (rack) => this.state.inletC(rack));
    this.plan = new ReservationPlan(
      opts.dataDir ? join(opts.dataDir, 'recommend', 'reservations.json') : undefined,
    );
    this.now = opts.now ?? Date.now;
    this.tariff = new TariffPricer(site.tariff);
    this.clock = new LocalClock(site.site.timezone);
    this.localFormat = new Intl.DateTimeFormat('sv-SE', {
      timeZone: site.site.timezone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    });
  }

  private wrapped: { source: ForecastSource; model: ThermalModel } | undefined;

  thermal(): ThermalModel {
    const given = this.opts.thermal?.();
    if (given) return given;
    const source = this.opts.forecast?.();
    if (!source) return this.layout;
    if (this.wrapped?.source !== source)
      this.wrapped = { source, model: forecastThermalModel(source, this.layout) };
    return this.wrapped.model;
  }

  private context(): PlacementContext {
    this.state.expire(this.now());
    return { index: this.opts.index, state: this.state, thermal: this.thermal() };
  }

  /** The current state, thermal model and site, as placement reads them (the push uses it). */
  placementContext(): PlacementContext {
    return this.context();
  }

  place(job: PlacementJob, acceptAs?: string): PlacementResponse {
    const ctx = this.context();
    const ranking = rankPlacements(job, ctx);
    const best = ranking.candidates[0];
    let accepted: string | undefined;
    if (acceptAs && best) {
      const untilTs = this.now() + job.durationMin * 60_000;
      const kwByNode = new Map<string, number>();
      // Share the candidate's kW over its nodes by GPUs (the ranking reports the total).
      const gpusTotal = best.nodes.reduce((s, n) => s + n.gpus, 0) || 1;
      for (const n of best.nodes) kwByNode.set(n.node, (best.addedKw * n.gpus) / gpusTotal);
      this.state.accept({
        id: acceptAs,
        untilTs,
        allocations: best.nodes.map((n) => ({ ...n, kw: kwByNode.get(n.node) ?? 0 })),
      });
      accepted = acceptAs;
    }
    return { ...ranking, thermalSource: ctx.thermal.source, ...(accepted ? { accepted } : {}) };
  }

  /** Releases GPUs held by an accepted placement (the job ended early). */
  release(id: string): boolean {
    return this.state.release(id);
  }

  private windowEnv(): WindowEnv {
    const site = this.opts.index.site;
    const setpoints = site.coolingUnits.map((u) => u.supplySetpointC);
    const supply = setpoints.length > 0 ? setpoints.reduce((a, b) => a + b, 0) / setpoints.length : 18;
    // Site load ahead: the present IT load held flat (a site-load forecast can replace this).
    const baseIt = this.state.siteItKw();
    return {
      tariff: this.tariff,
      clock: this.clock,
      siteCapKw: site.powerCapKw,
      baseItKw: () => baseIt,
      reservedKw: (ts) => this.plan.reservedKw(ts),
      supplyC: () => supply,
      monthPeakFacilityKw: this.state.monthPeakFacilityKw(),
    };
  }

  private localTime(ts: number): string {
    return this.localFormat.format(new Date(ts)).replace(' ', 'T');
  }

  batchWindow(req: BatchWindowRequest): BatchWindowResponse {
    const now = this.now();
    this.plan.prune(now);
    const toTs = (v: number | string) => (typeof v === 'number' ? v : Date.parse(v));
    const earliestStart = Math.max(now, req.earliestStart === undefined ? now : toTs(req.earliestStart));
    const deadline = toTs(req.deadline);
    const powerKw = req.powerKw ?? (req.energyKwh ?? 0) / (req.durationMin / 60);
    if (deadline <= earliestStart) {
      throw new HttpError(400, 'HOTAISLE_BAD_REQUEST', 'deadline must be after earliestStart and now', [
        { path: 'body.deadline', message: 'must be after earliestStart and now' },
      ]);
    }
    const job = { powerKw, durationMin: req.durationMin, earliestStart, deadline, pausable: req.pausable };
    const env = this.windowEnv();
    const plan = planWindow(job, env);
    const nowRun: Interval = { startTs: earliestStart, endTs: earliestStart + req.durationMin * 60_000 };
    const costNow = costOf(job, env, [nowRun], plan.plannedPeakKw).cost;
    const id = randomUUID();
    if (plan.feasible) this.remember(id, { plan, powerKw, expiresTs: now + PROPOSAL_TTL_MS }, now);
    const first = plan.segments[0];
    const last = plan.segments[plan.segments.length - 1];
    const location = this.opts.index.site.site.id;
    return {
      id,
      feasible: plan.feasible,
      start: first ? iso(first.startTs) : null,
      end: last ? iso(last.endTs) : null,
      segments: plan.segments.map((s) => ({ start: iso(s.startTs), end: iso(s.endTs), ...s })),
      powerKw: round2(powerKw),
      currency: this.tariff.currency,
      expectedCost: plan.feasible ? round2(plan.cost) : null,
      costNow: round2(costNow),
      saving: plan.feasible ? round2(costNow - plan.cost) : null,
      energyKwh: round2(plan.energyKwh),
      coolingKwh: round2(plan.coolingKwh),
      carbonKg: this.opts.index.site.tariff?.carbonByHour && plan.feasible ? round2(plan.carbonKg) : null,
      slurmBegin: first ? `--begin=${this.localTime(first.startTs)}` : null,
      reason: plan.reason,
      // Carbon Aware SDK shape: value is the average grid intensity (gCO2/kWh) over each segment.
      optimalDataPoints: plan.segments.map((s) => {
        const seg = costOf(job, env, [s], plan.plannedPeakKw);
        const facilityKwh = seg.energyKwh + seg.coolingKwh;
        return {
          location,
          timestamp: iso(s.startTs),
          duration: Math.round((s.endTs - s.startTs) / 60_000),
          value: facilityKwh > 0 ? round2((seg.carbonKg * 1000) / facilityKwh) : 0,
        };
      }),
    };
  }

  private remember(id: string, p: Proposal, now: number): void {
    for (const [k, v] of this.proposals) if (v.expiresTs <= now) this.proposals.delete(k);
    if (this.proposals.size >= MAX_PROPOSALS) {
      const oldest = this.proposals.keys().next();
      if (!oldest.done) this.proposals.delete(oldest.value);
    }
    this.proposals.set(id, p);
  }

  /** Turns a proposed window into a reservation later windows plan around. */
  accept(id: string): {
    id: string;
    accepted: true;
    segments: BatchWindowResponse['segments'];
    powerKw: number;
  } {
    const now = this.now();
    const p = this.proposals.get(id);
    if (!p || p.expiresTs <= now) {
      if (this.plan.has(id))
        throw new HttpError(409, 'HOTAISLE_CONFLICT', `batch window ${id} was already accepted`);
      throw notFound(
        `batch window ${id} (proposals can be accepted for ${PROPOSAL_TTL_MS / 60_000} minutes)`,
      );
    }
    this.proposals.delete(id);
    this.plan.add({ id, powerKw: p.powerKw, segments: p.plan.segments, acceptedAt: now });
    return {
      id,
      accepted: true,
      powerKw: round2(p.powerKw),
      segments: p.plan.segments.map((s) => ({ start: iso(s.startTs), end: iso(s.endTs), ...s })),
    };
  }

  /** Slurm node weights from thermal and power headroom (see slurm.ts). */
  slurmWeights(): SlurmNodeWeight[] {
    return slurmWeights(this.context());
  }

  k8sFilter(args: ExtenderArgs): ExtenderFilterResult {
    return extenderFilter(args, this.context());
  }

  k8sPrioritize(args: ExtenderArgs): HostPriorityList {
    return extenderPrioritize(args, this.context());
  }
}
