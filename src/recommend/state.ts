/**
 * The in-memory picture placement answers from: latest rack power and inlet from readings, GPUs
 * held by accepted placements (until their expected end), and the month's peak site demand.
 * Never touches the store, so an answer costs microseconds.
 */
import type { SiteIndex } from '../config/siteIndex.ts';
import type { Reading } from '../telemetry/reading.ts';

export interface NodeAllocation {
  node: string;
  rack: string;
  gpus: number;
  /** kW this share of the job adds to its rack. */
  kw: number;
}

export interface AcceptedPlacement {
  id: string;
  allocations: NodeAllocation[];
  /** ms; the GPUs are free again after this. */
  untilTs: number;
}

const COOLING_METRICS: Readonly<Record<string, keyof CoolingUnitView | undefined>> = {
  supply_c: 'supplyC',
  return_c: 'returnC',
  fan_pct: 'fanPct',
};

interface NodeSlot {
  name: string;
  rack: string;
  gpus: number;
  gpuKw: number;
  baseKw: number;
  labels: Readonly<Record<string, string>>;
  freeGpus: number;
}

export interface NodeView {
  readonly name: string;
  readonly rack: string;
  readonly gpus: number;
  readonly freeGpus: number;
  readonly gpuKw: number;
  readonly baseKw: number;
  readonly labels: Readonly<Record<string, string>>;
}

/** The latest readings of one cooling unit. */
export interface CoolingUnitView {
  supplyC: number;
  returnC: number;
  fanPct: number;
}

export class ClusterState {
  private readonly nodes = new Map<string, NodeSlot>();
  private readonly nodesByRack = new Map<string, NodeSlot[]>();
  private readonly measuredKw = new Map<string, number>();
  private readonly inlet = new Map<string, number>();
  /** Per cooling unit; partial until all three metrics were seen. */
  private readonly cooling = new Map<string, Partial<CoolingUnitView>>();
  /** kW committed by active placements per rack. */
  private readonly committedKw = new Map<string, number>();
  private readonly placements = new Map<string, AcceptedPlacement>();
  private monthKey = '';
  private monthPeakKw = 0;
  private siteFacilityKw: number | undefined;

  constructor(readonly index: SiteIndex) {
    for (const [rackId, place] of index.racks) {
      const list: NodeSlot[] = [];
      for (const n of place.rack.nodes) {
        const slot = {
          name: n.name,
          rack: rackId,
          gpus: n.gpus,
          gpuKw: n.gpuKw,
          baseKw: n.baseKw,
          labels: n.labels,
          freeGpus: n.gpus,
        };
        this.nodes.set(n.name, slot);
        list.push(slot);
      }
      this.nodesByRack.set(rackId, list);
    }
  }

  observe(readings: readonly Reading[]): void {
    for (const r of readings) {
      if (r.kind === 'rack') {
        if (r.metric === 'power_kw') this.measuredKw.set(r.target, r.value);
        else if (r.metric === 'inlet_c') this.inlet.set(r.target, r.value);
      } else if (r.kind === 'cooling') {
        const key = COOLING_METRICS[r.metric];
        if (key === undefined) continue;
        const unit = this.cooling.get(r.target) ?? {};
        unit[key] = r.value;
        this.cooling.set(r.target, unit);
      } else if (r.kind === 'site' && r.metric === 'power_kw') {
        this.siteFacilityKw = r.value;
        const d = new Date(r.ts);
        const key = `${d.getUTCFullYear()}-${d.getUTCMonth()}`;
        if (key !== this.monthKey) {
          this.monthKey = key;
          this.monthPeakKw = 0;
        }
        this.monthPeakKw = Math.max(this.monthPeakKw, r.value);
      }
    }
  }

  /** Sets a rack's latest power and inlet directly (simulator replays, tests). */
  setRack(rack: string, kw: number, inletC: number): void {
    this.measuredKw.set(rack, kw);
    this.inlet.set(rack, inletC);
  }

  /**
   * Makes a rack's nodes show `free` GPUs in all, filling nodes in order, for a caller that keeps
   * the GPU books per rack (the simulator). Not mixed with accept().
   */
  setRackFreeGpus(rack: string, free: number): void {
    let left = free;
    for (const n of this.nodesByRack.get(rack) ?? []) {
      n.freeGpus = Math.min(n.gpus, Math.max(0, left));
      left -= n.freeGpus;
    }
  }

  /** Sets a cooling unit's latest readings directly (simulator replays, tests). */
  setCoolingUnit(unit: string, view: CoolingUnitView): void {
    this.cooling.set(unit, { ...view });
  }

  /** A cooling unit's latest supply reading (enough to see a zone running warm). */
  coolingSupplyC(unit: string): number | undefined {
    return this.cooling.get(unit)?.supplyC;
  }

  /** A cooling unit's latest supply, return and fan readings, once all three were seen. */
  coolingUnit(unit: string): CoolingUnitView | undefined {
    const u = this.cooling.get(unit);
    return u?.supplyC !== undefined && u.returnC !== undefined && u.fanPct !== undefined
      ? { supplyC: u.supplyC, returnC: u.returnC, fanPct: u.fanPct }
      : undefined;
  }

  inletC(rack: string): number | undefined {
    return this.inlet.get(rack);
  }

  /**
   * Rack load in kW: the larger of the last reading and what accepted placements commit, so a job
   * placed a second ago counts before the meter sees it.
   */
  rackKw(rack: string): number {
    return Math.max(this.measuredKw.get(rack) ?? 0, this.committedKw.get(rack) ?? 0);
  }

  /** Sum of rack loads (IT). */
  siteItKw(): number {
    let sum = 0;
    for (const rack of this.index.rackIds) sum += this.rackKw(rack);
    return sum;
  }

  /** Highest facility demand seen this month (kW), or 0 before any site reading. */
  monthPeakFacilityKw(): number {
    return this.monthPeakKw;
  }

  facilityKw(): number | undefined {
    return this.siteFacilityKw;
  }

  nodesOf(rack: string): readonly NodeView[] {
    // The slots themselves, read-only to callers: copying them per request cost milliseconds.
    return this.nodesByRack.get(rack) ?? [];
  }

  freeGpus(node: string): number | undefined {
    const n = this.nodes.get(node);
    return n?.freeGpus;
  }

  /**
   * Records a placement the scheduler acted on; the same id replaces the earlier one. The kW are
   * committed to each node's rack in this layout (a placement carried over a reload follows its node).
   */
  accept(placement: AcceptedPlacement): void {
    this.release(placement.id);
    const allocations = placement.allocations.map((a) => {
      const n = this.nodes.get(a.node);
      if (!n) throw new Error(`unknown node ${a.node}`);
      if (a.gpus > n.freeGpus) throw new Error(`node ${a.node} has only ${n.freeGpus} free GPUs`);
      return n.rack === a.rack ? a : { ...a, rack: n.rack };
    });
    for (const a of allocations) {
      const n = this.nodes.get(a.node)!;
      n.freeGpus -= a.gpus;
      this.committedKw.set(a.rack, (this.committedKw.get(a.rack) ?? 0) + a.kw);
    }
    this.placements.set(placement.id, { ...placement, allocations });
  }

  release(id: string): boolean {
    const p = this.placements.get(id);
    if (!p) return false;
    for (const a of p.allocations) {
      const n = this.nodes.get(a.node);
      if (n) n.freeGpus = Math.min(n.gpus, n.freeGpus + a.gpus);
      this.committedKw.set(a.rack, Math.max(0, (this.committedKw.get(a.rack) ?? 0) - a.kw));
    }
    this.placements.delete(id);
    return true;
  }

  /** Frees placements whose expected end has passed. */
  expire(now: number): void {
    for (const [id, p] of this.placements) if (p.untilTs <= now) this.release(id);
  }

  activePlacements(): number {
    return this.placements.size;
  }

  /** The placements held now (a reload carries them to the next state). */
  placementList(): AcceptedPlacement[] {
    return [...this.placements.values()];
  }
}
