/**
 * Jobs → rack power. A job asks for GPUs at a submit time; it runs on a rack (or the racks of
 * named nodes) once enough GPUs are free there, draws `powerPerGpuKw` per GPU while running,
 * and slows down (thermal throttling) while any of its racks breathes air above the throttle
 * inlet temperature — which is how hot placement turns into deadline misses.
 */
import type { SiteConfig } from '../config/schema.ts';
import type { RackLayout } from './layout.ts';
import type { PlacementPolicy, PlacementView } from './placement.ts';

export type { PlacementPolicy, PlacementView } from './placement.ts';

export interface JobSpec {
  id: string;
  gpus: number;
  /** Submit time, ms since epoch; the job starts then if GPUs are free, otherwise it waits. */
  start: number;
  /** Run time at full speed. */
  durationMs: number;
  /** Pin to one rack; with neither this nor nodeNames the placement policy picks a rack. */
  rackId?: string;
  /** Pin to these nodes; the GPUs are split evenly across them. */
  nodeNames?: string[];
  /** Power per busy GPU; default: the rack's GPU rating times `defaultGpuUtilization`. */
  powerPerGpuKw?: number;
  /** Finish-by time, ms since epoch; finishing later counts as a deadline miss. */
  deadline?: number;
}

export type JobState = 'scheduled' | 'waiting' | 'running' | 'done' | 'cancelled';

export interface JobStatus {
  id: string;
  state: JobState;
  racks: string[];
  submittedTs: number;
  startedTs: number | undefined;
  finishedTs: number | undefined;
  deadline: number | undefined;
  missedDeadline: boolean;
  throttledMs: number;
}

export interface JobParams {
  /** Share of rated GPU power a GPU draws while idle. */
  idleGpuShare: number;
  /** Share of a node's baseKw drawn steadily (CPUs, fans, NICs). */
  baseLoadShare: number;
  /** Steady draw of a rack without nodes (network, storage shelves), share of its cap. */
  nodelessLoadShare: number;
  defaultGpuUtilization: number;
  /** Inlet temperature above which GPUs throttle; default: the site's critical threshold. */
  throttleInletC: number | undefined;
  /** Progress rate and power share while throttled. */
  throttleSpeed: number;
  throttlePowerShare: number;
}

export const DEFAULT_JOB_PARAMS: JobParams = {
  idleGpuShare: 0.25,
  baseLoadShare: 0.8,
  nodelessLoadShare: 0.5,
  defaultGpuUtilization: 0.95,
  throttleInletC: undefined,
  throttleSpeed: 0.75,
  throttlePowerShare: 0.8,
};

interface Job {
  spec: JobSpec;
  generated: boolean;
  state: JobState;
  racks: number[];
  gpus: number[];
  powerPerGpu: number;
  remainingMs: number;
  throttled: boolean;
  startedTs: number | undefined;
  finishedTs: number | undefined;
  throttledMs: number;
}

export class JobEngine {
  readonly totalGpus: Int32Array;
  readonly freeGpus: Int32Array;
  /** Average rated power of one GPU per rack, kW. */
  readonly gpuKw: Float64Array;
  /** Steady non-GPU draw per rack, kW. */
  readonly steadyKw: Float64Array;
  /** Power of running jobs per rack, kW. */
  readonly jobPowerKw: Float64Array;
  completed = 0;
  missedDeadlines = 0;
  totalWaitMs = 0;
  private readonly jobs = new Map<string, Job>();
  private readonly upcoming: Job[] = []; // min-heap on spec.start
  private waiting: Job[] = [];
  private readonly running: Job[] = [];
  private retryWaiting = false;
  private readonly nodeRack = new Map<string, { rack: number; gpus: number }>();

  constructor(
    site: SiteConfig,
    private readonly layout: RackLayout,
    private readonly params: JobParams,
    private readonly throttleInletC: number,
  ) {
    const n = layout.n;
    this.totalGpus = new Int32Array(n);
    this.gpuKw = new Float64Array(n);
    this.steadyKw = new Float64Array(n);
    this.jobPowerKw = new Float64Array(n);
    for (const room of site.rooms) {
      for (const row of room.rows) {
        for (const rack of row.racks) {
          const i = layout.rackIndex.get(rack.id)!;
          let gpus = 0;
          let gpuKwSum = 0;
          let base = 0;
          for (const node of rack.nodes) {
            gpus += node.gpus;
            gpuKwSum += node.gpus * node.gpuKw;
            base += node.baseKw;
            this.nodeRack.set(node.name, { rack: i, gpus: node.gpus });
          }
          this.totalGpus[i] = gpus;
          this.gpuKw[i] = gpus > 0 ? gpuKwSum / gpus : 0;
          this.steadyKw[i] =
            rack.nodes.length > 0 ? base * params.baseLoadShare : rack.powerCapKw * params.nodelessLoadShare;
        }
      }
    }
    this.freeGpus = Int32Array.from(this.totalGpus);
  }

  get runningCount(): number {
    return this.running.length;
  }

  get waitingCount(): number {
    return this.waiting.length;
  }

  /** Schedule a job. `generated` jobs are forgotten once done (long runs would otherwise grow without bound). */
  add(spec: JobSpec, generated = false): void {
    if (this.jobs.has(spec.id)) throw new Error(`job ${spec.id} is already placed`);
    if (!(spec.gpus > 0) || !Number.isInteger(spec.gpus))
      throw new Error(`job ${spec.id}: gpus must be a positive integer`);
    if (!(spec.durationMs > 0)) throw new Error(`job ${spec.id}: durationMs must be above 0`);
    const pinned = this.resolvePins(spec);
    const job: Job = {
      spec,
      generated,
      state: 'scheduled',
      racks: pinned?.racks ?? [],
      gpus: pinned?.gpus ?? [],
      powerPerGpu: 0,
      remainingMs: spec.durationMs,
      throttled: false,
      startedTs: undefined,
      finishedTs: undefined,
      throttledMs: 0,
    };
    this.jobs.set(spec.id, job);
    heapPush(this.upcoming, job);
  }

  private resolvePins(spec: JobSpec): { racks: number[]; gpus: number[] } | undefined {
    if (spec.rackId !== undefined) {
      const i = this.layout.rackIndex.get(spec.rackId);
      if (i === undefined) throw new Error(`job ${spec.id}: no rack "${spec.rackId}" in this site`);
      if (spec.gpus > this.totalGpus[i]!)
        throw new Error(
          `job ${spec.id}: rack ${spec.rackId} has ${this.totalGpus[i]} GPUs, the job needs ${spec.gpus}`,
        );
      return { racks: [i], gpus: [spec.gpus] };
    }
    if (spec.nodeNames && spec.nodeNames.length > 0) {
      const perRack = new Map<number, number>();
      const k = spec.nodeNames.length;
      spec.nodeNames.forEach((name, idx) => {
        const node = this.nodeRack.get(name);
        if (!node) throw new Error(`job ${spec.id}: no node "${name}" in this site`);
        // Even split; the first (gpus mod k) nodes take one more.
        const share = Math.floor(spec.gpus / k) + (idx < spec.gpus % k ? 1 : 0);
        if (share > node.gpus)
          throw new Error(`job ${spec.id}: node ${name} has ${node.gpus} GPUs, the job puts ${share} there`);
        perRack.set(node.rack, (perRack.get(node.rack) ?? 0) + share);
      });
      const entries = [...perRack].filter(([, g]) => g > 0);
      return { racks: entries.map(([r]) => r), gpus: entries.map(([, g]) => g) };
    }
    return undefined;
  }

  /** Cancel a job; a running job frees its GPUs at once. False when no such job is active. */
  remove(id: string): boolean {
    const job = this.jobs.get(id);
    if (!job || job.state === 'done' || job.state === 'cancelled') return false;
    if (job.state === 'running') {
      this.release(job);
      const at = this.running.indexOf(job);
      this.running[at] = this.running[this.running.length - 1]!;
      this.running.pop();
    } else if (job.state === 'waiting') {
      this.waiting = this.waiting.filter((j) => j !== job);
    } else {
      const at = this.upcoming.indexOf(job);
      this.upcoming.splice(at, 1);
      heapify(this.upcoming);
    }
    job.state = 'cancelled';
    return true;
  }

  status(id: string): JobStatus | undefined {
    const job = this.jobs.get(id);
    if (!job) return undefined;
    const end = job.finishedTs;
    return {
      id,
      state: job.state,
      racks: job.racks.map((r) => this.layout.rackIds[r]!),
      submittedTs: job.spec.start,
      startedTs: job.startedTs,
      finishedTs: end,
      deadline: job.spec.deadline,
      missedDeadline: job.spec.deadline !== undefined && end !== undefined && end > job.spec.deadline,
      throttledMs: job.throttledMs,
    };
  }

  /** Jobs not finished whose deadline has already passed (they will miss it whatever happens). */
  overdueUnfinished(now: number): number {
    let count = 0;
    for (const job of this.jobs.values()) {
      const d = job.spec.deadline;
      if (
        d !== undefined &&
        d < now &&
        (job.state === 'scheduled' || job.state === 'waiting' || job.state === 'running')
      )
        count++;
    }
    return count;
  }

  /** Submit due jobs, start what fits, progress and finish running jobs. */
  step(now: number, dtMs: number, inletC: Float64Array, policy: PlacementPolicy, view: PlacementView): void {
    this.progress(now, dtMs, inletC);
    while (this.upcoming.length > 0 && this.upcoming[0]!.spec.start <= now) {
      const job = heapPop(this.upcoming)!;
      job.state = 'waiting';
      this.waiting.push(job);
      this.retryWaiting = true;
    }
    if (this.retryWaiting) this.startWaiting(now, inletC, policy, view);
  }

  private startWaiting(
    now: number,
    inletC: Float64Array,
    policy: PlacementPolicy,
    view: PlacementView,
  ): void {
    this.retryWaiting = false;
    let unpinnedBlocked = false; // unpinned jobs start in submit order: once one waits, later ones wait too
    let kept = 0;
    for (const job of this.waiting) {
      let placed = false;
      if (job.racks.length > 0) {
        placed = job.racks.every((r, k) => this.freeGpus[r]! >= job.gpus[k]!);
      } else if (!unpinnedBlocked) {
        const rackId = policy(job.spec, view);
        const r = rackId === null ? undefined : this.layout.rackIndex.get(rackId);
        if (r !== undefined && this.freeGpus[r]! >= job.spec.gpus) {
          job.racks = [r];
          job.gpus = [job.spec.gpus];
          placed = true;
        } else {
          unpinnedBlocked = true;
        }
      }
      if (placed) this.begin(job, now, inletC);
      else this.waiting[kept++] = job;
    }
    this.waiting.length = kept;
  }

  private begin(job: Job, now: number, inletC: Float64Array): void {
    const r0 = job.racks[0]!;
    job.powerPerGpu = job.spec.powerPerGpuKw ?? this.gpuKw[r0]! * this.params.defaultGpuUtilization;
    job.state = 'running';
    job.startedTs = now;
    this.totalWaitMs += now - job.spec.start;
    job.throttled = this.isHot(job, inletC);
    job.racks.forEach((r, k) => {
      this.freeGpus[r]! -= job.gpus[k]!;
    });
    this.addPower(job, 1);
    this.running.push(job);
  }

  private isHot(job: Job, inletC: Float64Array): boolean {
    for (const r of job.racks) if (inletC[r]! > this.throttleInletC) return true;
    return false;
  }

  private addPower(job: Job, sign: 1 | -1): void {
    const share = job.throttled ? this.params.throttlePowerShare : 1;
    job.racks.forEach((r, k) => {
      this.jobPowerKw[r]! += sign * job.gpus[k]! * job.powerPerGpu * share;
    });
  }

  private release(job: Job): void {
    this.addPower(job, -1);
    job.racks.forEach((r, k) => {
      this.freeGpus[r]! += job.gpus[k]!;
      // Floating sums drift; an emptied rack returns to exactly zero job power.
      if (this.freeGpus[r] === this.totalGpus[r]) this.jobPowerKw[r] = 0;
    });
    this.retryWaiting = true;
  }

  private progress(now: number, dtMs: number, inletC: Float64Array): void {
    const speed = this.params.throttleSpeed;
    for (let k = 0; k < this.running.length; k++) {
      const job = this.running[k]!;
      const hot = this.isHot(job, inletC);
      if (hot !== job.throttled) {
        this.addPower(job, -1);
        job.throttled = hot;
        this.addPower(job, 1);
      }
      const rate = hot ? speed : 1;
      if (hot) job.throttledMs += dtMs;
      job.remainingMs -= dtMs * rate;
      if (job.remainingMs > 0) continue;
      // Finished inside this step: interpolate the end time.
      job.finishedTs = now + job.remainingMs / rate;
      job.state = 'done';
      this.completed++;
      if (job.spec.deadline !== undefined && job.finishedTs > job.spec.deadline) this.missedDeadlines++;
      this.release(job);
      if (job.generated) this.jobs.delete(job.spec.id);
      this.running[k] = this.running[this.running.length - 1]!;
      this.running.pop();
      k--;
    }
  }
}

function heapPush(heap: Job[], job: Job): void {
  heap.push(job);
  let i = heap.length - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (heap[parent]!.spec.start <= job.spec.start) break;
    heap[i] = heap[parent]!;
    i = parent;
  }
  heap[i] = job;
}

function heapPop(heap: Job[]): Job | undefined {
  const top = heap[0];
  const last = heap.pop();
  if (heap.length > 0 && last) {
    heap[0] = last;
    siftDown(heap, 0);
  }
  return top;
}

function siftDown(heap: Job[], start: number): void {
  let i = start;
  const job = heap[i]!;
  for (;;) {
    const l = 2 * i + 1;
    if (l >= heap.length) break;
    const r = l + 1;
    const c = r < heap.length && heap[r]!.spec.start < heap[l]!.spec.start ? r : l;
    if (heap[c]!.spec.start >= job.spec.start) break;
    heap[i] = heap[c]!;
    i = c;
  }
  heap[i] = job;
}

function heapify(heap: Job[]): void {
  for (let i = (heap.length >> 1) - 1; i >= 0; i--) siftDown(heap, i);
}
