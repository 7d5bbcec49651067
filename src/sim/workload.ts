/**
 * A seeded stream of GPU jobs with the shape of a real cluster's week: a daily cycle peaking in
 * the afternoon, quieter weekends, and optionally a batch window at night where long, wide jobs
 * pile in. Arrival rates follow Little's law so the GPUs busy on average match the requested
 * utilisation: λ(t) = u(t) · GPUs / (E[gpus per job] · E[duration]). Arrivals are drawn as a
 * non-homogeneous Poisson process by thinning, so the stream does not depend on step size.
 */
import { inDailyWindow, type LocalClock, parseHhmm } from './clock.ts';
import type { JobSpec } from './jobs.ts';
import { Rng } from './random.ts';

export interface BatchWindow {
  /** Local "HH:MM"; the window may wrap past midnight. */
  from: string;
  to: string;
  /** Share of GPUs the batch class keeps busy inside the window. */
  utilization: number;
  meanJobMinutes: number;
  jobGpus: number[];
}

export interface WorkloadOptions {
  /** Mean share of GPUs busy over a weekday (0–1). */
  utilization: number;
  /** Relative swing of the daily cycle: u(t) = utilization · (1 + a · cos(2π (h − peakHour)/24)). */
  diurnalAmplitude: number;
  peakHour: number;
  /** Multiplier on utilisation on Saturday and Sunday. */
  weekendFactor: number;
  meanJobMinutes: number;
  /** Job widths in GPUs, drawn uniformly (repeat a size to weight it). */
  jobGpus: number[];
  /** Deadline = submit + duration · slack; none when absent. */
  deadlineSlack?: number | undefined;
  batchNight?: BatchWindow | undefined;
}

export const DEFAULT_WORKLOAD: WorkloadOptions = {
  utilization: 0.55,
  diurnalAmplitude: 0.35,
  peakHour: 15,
  weekendFactor: 0.7,
  meanJobMinutes: 60,
  jobGpus: [1, 2, 4, 8, 8, 8, 16],
};

/** Log-space spread of job durations; mean = median · e^{σ²/2}. */
const DURATION_SIGMA = 0.8;

export class WorkloadGenerator {
  private readonly rng: Rng;
  private readonly interactiveGpus: number[];
  private readonly batchGpus: number[];
  private readonly lambdaMax: number;
  private readonly batchFrom: number;
  private readonly batchTo: number;
  private nextCandidateTs: number;
  private counter = 0;

  constructor(
    readonly options: WorkloadOptions,
    private readonly totalGpus: number,
    /** Largest GPU count one rack offers; wider jobs are clamped to it. */
    maxRackGpus: number,
    private readonly clock: LocalClock,
    seed: number,
    startTs: number,
    private readonly idPrefix = 'gen',
  ) {
    this.rng = new Rng(seed, 'workload');
    const clamp = (sizes: number[]) => {
      const fit = sizes.filter((g) => g >= 1 && g <= maxRackGpus);
      return fit.length > 0 ? fit : maxRackGpus > 0 ? [maxRackGpus] : [];
    };
    this.interactiveGpus = clamp(options.jobGpus);
    this.batchGpus = clamp(options.batchNight?.jobGpus ?? options.jobGpus);
    const o = options;
    const peakInteractive = this.rate(
      o.utilization * Math.max(1, o.weekendFactor) * (1 + o.diurnalAmplitude),
      this.interactiveGpus,
      o.meanJobMinutes,
    );
    const peakBatch = o.batchNight
      ? this.rate(o.batchNight.utilization, this.batchGpus, o.batchNight.meanJobMinutes)
      : 0;
    this.lambdaMax = peakInteractive + peakBatch;
    this.batchFrom = o.batchNight ? parseHhmm(o.batchNight.from) : 0;
    this.batchTo = o.batchNight ? parseHhmm(o.batchNight.to) : 0;
    this.nextCandidateTs = startTs;
    this.advanceCandidate();
  }

  /** Arrivals per ms that keep `utilization` of the GPUs busy with jobs of these widths and mean length. */
  private rate(utilization: number, sizes: number[], meanMinutes: number): number {
    if (sizes.length === 0 || this.totalGpus === 0 || utilization <= 0) return 0;
    const meanGpus = sizes.reduce((a, b) => a + b, 0) / sizes.length;
    return (utilization * this.totalGpus) / (meanGpus * meanMinutes * 60_000);
  }

  private advanceCandidate(): void {
    this.nextCandidateTs =
      this.lambdaMax > 0 ? this.nextCandidateTs + this.rng.exponential(1 / this.lambdaMax) : Infinity;
  }

  /** Target utilisation of the interactive class at ts (for tests and dashboards). */
  interactiveUtilization(ts: number): number {
    const o = this.options;
    const local = this.clock.at(ts);
    const weekend = local.weekday >= 5 ? o.weekendFactor : 1;
    const cycle = 1 + o.diurnalAmplitude * Math.cos((2 * Math.PI * (local.hour - o.peakHour)) / 24);
    return Math.max(0, o.utilization * weekend * cycle);
  }

  private batchActive(ts: number): boolean {
    return (
      this.options.batchNight !== undefined &&
      inDailyWindow(this.clock.at(ts).minuteOfDay, this.batchFrom, this.batchTo)
    );
  }

  /**
   * Jobs already running at `ts` when a run starts warm: enough to keep the target share of GPUs
   * busy. Jobs in progress are seen with length bias (long ones are likelier to be caught), which
   * for a log-normal is another log-normal with the median scaled by e^{σ²}; each has a uniform
   * share of its run left.
   */
  initialJobs(ts: number): JobSpec[] {
    const o = this.options;
    const batch = o.batchNight && this.batchActive(ts);
    const share = Math.min(0.95, this.interactiveUtilization(ts) + (batch ? o.batchNight!.utilization : 0));
    const sizes = batch ? this.batchGpus : this.interactiveGpus;
    const meanMinutes = batch ? o.batchNight!.meanJobMinutes : o.meanJobMinutes;
    const median = meanMinutes * Math.exp((DURATION_SIGMA * DURATION_SIGMA) / 2);
    const out: JobSpec[] = [];
    let busy = 0;
    while (sizes.length > 0 && busy < share * this.totalGpus) {
      const gpus = this.rng.pick(sizes);
      const full = this.rng.logNormal(median, DURATION_SIGMA) * 60_000;
      const durationMs = Math.max(60_000, Math.round(full * this.rng.next()));
      busy += gpus;
      out.push({
        id: `${this.idPrefix}-${++this.counter}`,
        gpus,
        start: ts,
        durationMs,
        ...(o.deadlineSlack !== undefined ? { deadline: ts + Math.round(durationMs * o.deadlineSlack) } : {}),
      });
    }
    return out;
  }

  /** All jobs submitted up to and including `ts`, in submit order. */
  generateUntil(ts: number): JobSpec[] {
    const out: JobSpec[] = [];
    const o = this.options;
    while (this.nextCandidateTs <= ts) {
      const t = this.nextCandidateTs;
      const interactive = this.rate(this.interactiveUtilization(t), this.interactiveGpus, o.meanJobMinutes);
      const batch =
        o.batchNight && this.batchActive(t)
          ? this.rate(o.batchNight.utilization, this.batchGpus, o.batchNight.meanJobMinutes)
          : 0;
      const u = this.rng.next();
      if (u * this.lambdaMax < interactive + batch) {
        const isBatch = u * this.lambdaMax >= interactive;
        const sizes = isBatch ? this.batchGpus : this.interactiveGpus;
        const meanMinutes = isBatch ? o.batchNight!.meanJobMinutes : o.meanJobMinutes;
        const median = meanMinutes * Math.exp((-DURATION_SIGMA * DURATION_SIGMA) / 2);
        const durationMs = Math.max(60_000, Math.round(this.rng.logNormal(median, DURATION_SIGMA) * 60_000));
        const start = Math.floor(t);
        out.push({
          id: `${this.idPrefix}-${++this.counter}`,
          gpus: this.rng.pick(sizes),
          start,
          durationMs,
          ...(o.deadlineSlack !== undefined
            ? { deadline: start + Math.round(durationMs * o.deadlineSlack) }
            : {}),
        });
      }
      this.advanceCandidate();
    }
    return out;
  }
}
