/**
 * The recirculation matrix D of `T_in = T_sup + D·P` (DESIGN.md, Physics), derived from where
 * racks stand. D is never stored dense: neighbour terms (same row ±1/±2, the racks across the
 * shared cold aisle, the rack itself) are a sparse CSR matrix, and the diffuse terms (a share of
 * the whole aisle's and the whole room's heat) are rank-one per group, applied through group sums.
 * Racks in other rooms never couple. Containment scales a rack's whole row of D by its aisle's
 * multiplier, which events (a door left open) can change at run time.
 */
import type { SiteIndex } from '../config/siteIndex.ts';

/** Coefficients in K of inlet rise per kW of source rack power (before containment). */
export interface RecirculationParams {
  /** A rack's own exhaust drawn back to its inlet. */
  selfKPerKw: number;
  /** Same row, adjacent slot. */
  rowAdjacent: number;
  /** Same row, two slots away. */
  rowSecond: number;
  /** Other row on the same cold aisle, directly opposite. */
  aisleOpposite: number;
  /** Other row on the same cold aisle, one slot off. */
  aisleDiagonal: number;
  /** Diffuse share of the aisle's total heat: K per kW of the aisle's mean rack power. */
  aisleDiffuse: number;
  /** Diffuse share of the room's total heat: K per kW of the room's mean rack power. */
  roomDiffuse: number;
  /** Multiplier on the neighbour and aisle terms for the rack at a row end (hot air wraps round the end). */
  rowEndFactor: number;
  /** Same, for the rack one slot in from the end. */
  rowNearEndFactor: number;
  /** Share of uncontained recirculation that remains, per containment type. */
  containment: { none: number; 'cold-aisle': number; 'hot-aisle': number };
}

export const DEFAULT_RECIRCULATION: RecirculationParams = {
  selfKPerKw: 0.004,
  rowAdjacent: 0.03,
  rowSecond: 0.012,
  aisleOpposite: 0.015,
  aisleDiagonal: 0.008,
  aisleDiffuse: 0.04,
  roomDiffuse: 0.02,
  rowEndFactor: 1.6,
  rowNearEndFactor: 1.25,
  containment: { none: 1, 'cold-aisle': 0.35, 'hot-aisle': 0.4 },
};

export interface AisleInfo {
  /** `room/aisle` for a named cold aisle, `room/row:<row>` for a row with none. */
  key: string;
  room: number;
  /** The cold-aisle id, or undefined when the group is one row's own aisle. */
  coldAisle: string | undefined;
  rows: string[];
  /** Multiplier from the room's containment, before any door is opened. */
  baseMultiplier: number;
}

export class RackLayout {
  readonly n: number;
  readonly rackIds: readonly string[];
  readonly rackIndex: ReadonlyMap<string, number>;
  readonly roomIds: readonly string[];
  readonly zoneIds: readonly string[];
  readonly zoneIndex: ReadonlyMap<string, number>;
  /** Room index of each zone (the room of its first cooling unit or rack). */
  readonly zoneRoom: Int32Array;
  readonly aisles: readonly AisleInfo[];
  readonly room: Int32Array;
  readonly zone: Int32Array;
  readonly aisle: Int32Array;
  /** Global row index (unique across rooms) and the room/row label for each. */
  readonly row: Int32Array;
  readonly rowKeys: readonly string[];
  readonly position: Int32Array;
  readonly endFactor: Float64Array;
  /** CSR neighbour matrix, unscaled by containment. */
  readonly csrStart: Int32Array;
  readonly csrCol: Int32Array;
  readonly csrVal: Float64Array;
  /** Per-rack coefficient on its aisle's / room's power sum. */
  readonly aisleCoef: Float64Array;
  readonly roomCoef: Float64Array;
  private readonly aisleSum: Float64Array;
  private readonly roomSum: Float64Array;

  constructor(
    index: SiteIndex,
    readonly params: RecirculationParams = DEFAULT_RECIRCULATION,
  ) {
    const site = index.site;
    const rackIds: string[] = [];
    const roomIds = site.rooms.map((r) => r.id);
    const zoneIds = [...index.zones].sort();
    const zoneIndex = new Map(zoneIds.map((z, i) => [z, i]));
    const zoneRoom = new Int32Array(zoneIds.length).fill(-1);
    for (const u of site.coolingUnits) {
      const z = zoneIndex.get(u.zone)!;
      if (zoneRoom[z] === -1) zoneRoom[z] = Math.max(0, roomIds.indexOf(u.room));
    }
    const aisles: AisleInfo[] = [];
    const aisleByKey = new Map<string, number>();
    const rowKeys: string[] = [];
    const roomOf: number[] = [];
    const zoneOf: number[] = [];
    const aisleOf: number[] = [];
    const rowOf: number[] = [];
    const posOf: number[] = [];
    const endOf: number[] = [];
    site.rooms.forEach((room, roomIdx) => {
      for (const row of room.rows) {
        const rowIdx = rowKeys.length;
        rowKeys.push(`${room.id}/${row.id}`);
        const key = row.coldAisle ? `${room.id}/${row.coldAisle}` : `${room.id}/row:${row.id}`;
        let a = aisleByKey.get(key);
        if (a === undefined) {
          a = aisles.length;
          aisleByKey.set(key, a);
          aisles.push({
            key,
            room: roomIdx,
            coldAisle: row.coldAisle,
            rows: [],
            baseMultiplier: this.params.containment[room.containment],
          });
        }
        aisles[a]!.rows.push(row.id);
        const ordered = [...row.racks].sort((x, y) => x.position - y.position);
        ordered.forEach((rack, k) => {
          const z = zoneIndex.get(rack.zone ?? row.zone)!;
          if (zoneRoom[z] === -1) zoneRoom[z] = roomIdx;
          const fromEnd = Math.min(k, ordered.length - 1 - k);
          rackIds.push(rack.id);
          roomOf.push(roomIdx);
          zoneOf.push(z);
          aisleOf.push(a);
          rowOf.push(rowIdx);
          posOf.push(rack.position);
          endOf.push(fromEnd === 0 ? params.rowEndFactor : fromEnd === 1 ? params.rowNearEndFactor : 1);
        });
      }
    });
    for (let z = 0; z < zoneRoom.length; z++) if (zoneRoom[z] === -1) zoneRoom[z] = 0;

    this.n = rackIds.length;
    this.rackIds = rackIds;
    this.rackIndex = new Map(rackIds.map((id, i) => [id, i]));
    this.roomIds = roomIds;
    this.zoneIds = zoneIds;
    this.zoneIndex = zoneIndex;
    this.zoneRoom = zoneRoom;
    this.aisles = aisles;
    this.rowKeys = rowKeys;
    this.room = Int32Array.from(roomOf);
    this.zone = Int32Array.from(zoneOf);
    this.aisle = Int32Array.from(aisleOf);
    this.row = Int32Array.from(rowOf);
    this.position = Int32Array.from(posOf);
    this.endFactor = Float64Array.from(endOf);

    const aisleCount = new Float64Array(aisles.length);
    const roomCount = new Float64Array(roomIds.length);
    for (let i = 0; i < this.n; i++) {
      aisleCount[this.aisle[i]!]!++;
      roomCount[this.room[i]!]!++;
    }
    this.aisleCoef = new Float64Array(this.n);
    this.roomCoef = new Float64Array(this.n);
    for (let i = 0; i < this.n; i++) {
      this.aisleCoef[i] = (params.aisleDiffuse / aisleCount[this.aisle[i]!]!) * this.endFactor[i]!;
      this.roomCoef[i] = params.roomDiffuse / roomCount[this.room[i]!]!;
    }
    this.aisleSum = new Float64Array(aisles.length);
    this.roomSum = new Float64Array(roomIds.length);

    const csr = this.buildNeighbours();
    this.csrStart = csr.start;
    this.csrCol = csr.col;
    this.csrVal = csr.val;
  }

  /** Sparse neighbour terms: racks bucketed by (aisle, position) so each rack finds its few neighbours directly. */
  private buildNeighbours(): { start: Int32Array; col: Int32Array; val: Float64Array } {
    const byAislePos = new Map<string, number[]>();
    for (let j = 0; j < this.n; j++) {
      const key = `${this.aisle[j]}:${this.position[j]}`;
      const list = byAislePos.get(key);
      if (list) list.push(j);
      else byAislePos.set(key, [j]);
    }
    const start = new Int32Array(this.n + 1);
    const cols: number[] = [];
    const vals: number[] = [];
    for (let i = 0; i < this.n; i++) {
      start[i] = cols.length;
      const a = this.aisle[i]!;
      const p = this.position[i]!;
      for (let d = -2; d <= 2; d++) {
        for (const j of byAislePos.get(`${a}:${p + d}`) ?? []) {
          const v = this.neighbourTerm(i, j);
          if (v !== 0) {
            cols.push(j);
            vals.push(v);
          }
        }
      }
    }
    start[this.n] = cols.length;
    return { start, col: Int32Array.from(cols), val: Float64Array.from(vals) };
  }

  /** The sparse part of D_ij (unscaled), zero beyond the immediate neighbourhood. */
  private neighbourTerm(i: number, j: number): number {
    const p = this.params;
    if (this.room[i] !== this.room[j]) return 0;
    if (i === j) return p.selfKPerKw * this.endFactor[i]!;
    const dp = Math.abs(this.position[i]! - this.position[j]!);
    let v = 0;
    if (this.row[i] === this.row[j]) {
      v = dp === 1 ? p.rowAdjacent : dp === 2 ? p.rowSecond : 0;
    } else if (this.aisle[i] === this.aisle[j]) {
      v = dp === 0 ? p.aisleOpposite : dp === 1 ? p.aisleDiagonal : 0;
    }
    return v * this.endFactor[i]!;
  }

  /**
   * The full D_ij as defined, for tests and small sites: O(1) per entry, no shortcuts.
   * `aisleMultiplier` defaults to the containment multipliers.
   */
  coefficient(i: number, j: number, aisleMultiplier?: ArrayLike<number>): number {
    if (this.room[i] !== this.room[j]) return 0;
    let v = this.neighbourTerm(i, j) + this.roomCoef[i]!;
    if (this.aisle[i] === this.aisle[j]) v += this.aisleCoef[i]!;
    const a = this.aisle[i]!;
    return v * (aisleMultiplier ? aisleMultiplier[a]! : this.aisles[a]!.baseMultiplier);
  }

  /** Containment multipliers per aisle as configured (a fresh array the caller may change). */
  baseAisleMultipliers(): Float64Array {
    return Float64Array.from(this.aisles, (a) => a.baseMultiplier);
  }

  /** out_i = Σ_j D_ij · power_j in O(nnz + n): the inlet rise from recirculation, K. */
  recirculate(power: ArrayLike<number>, aisleMultiplier: ArrayLike<number>, out: Float64Array): Float64Array {
    const n = this.n;
    const aisleSum = this.aisleSum.fill(0);
    const roomSum = this.roomSum.fill(0);
    for (let j = 0; j < n; j++) {
      const pj = power[j]!;
      aisleSum[this.aisle[j]!]! += pj;
      roomSum[this.room[j]!]! += pj;
    }
    const start = this.csrStart;
    const col = this.csrCol;
    const val = this.csrVal;
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let k = start[i]!, end = start[i + 1]!; k < end; k++) s += val[k]! * power[col[k]!]!;
      const a = this.aisle[i]!;
      s += this.aisleCoef[i]! * aisleSum[a]! + this.roomCoef[i]! * roomSum[this.room[i]!]!;
      out[i] = s * aisleMultiplier[a]!;
    }
    return out;
  }

  /** Index of an aisle by cold-aisle id, `room/aisle` key or row id; undefined when none matches. */
  findAisle(name: string): number | undefined {
    const byKey = this.aisles.findIndex(
      (a) => a.key === name || a.coldAisle === name || a.rows.includes(name),
    );
    return byKey >= 0 ? byKey : undefined;
  }
}
