/**
 * Cooling units and their zone controller. Each zone's working units hold the supply air at
 * their setpoint while the zone's heat load fits their capacity; past it, the supply drifts up
 * (through its own lag) until the coils' capacity, which grows with the warmer return air,
 * matches the load again: capacity(T) = nominal · (1 + gain · (T_sup − setpoint)).
 * A failed unit has capacity 0 and its zone's other units carry the load; zones in the same
 * room lend a small share of their spare capacity to a zone in deficit.
 * Cooling power = heat removed / CoP(T_sup), scaled by a chiller factor for hot outdoor air,
 * plus fan power.
 */
import type { CoolingUnitConfig } from '../config/schema.ts';
import type { RackLayout } from './layout.ts';
import { AIR_HEAT_CAPACITY, coefficientOfPerformance, lagFactor } from './physics.ts';

export interface CoolingParams {
  /** Relative capacity gained per K the supply runs above setpoint. */
  capacityGainPerK: number;
  /** Supply never drifts further than this above setpoint, K. */
  maxSupplyRiseK: number;
  /** Time constant of the supply air temperature, s. */
  supplyTauSec: number;
  /** Share of a room's spare capacity that can reach a neighbouring zone in deficit. */
  neighbourShare: number;
  /** Unit airflow is sized so the rated capacity warms it by this much, K. */
  designDeltaTK: number;
  /** Fans never run slower than this, %. */
  minFanPct: number;
  /** Fan power at full speed as a share of the unit's capacity. */
  fanPowerShare: number;
  /** Chiller power rises by this share per K of outdoor air above `chillerReferenceC`. */
  chillerOutdoorPerK: number;
  chillerReferenceC: number;
  /** Supply temperature of zones with racks but no modelled unit (facility cooling, unlimited). */
  unmanagedSupplyC: number;
}

export const DEFAULT_COOLING: CoolingParams = {
  capacityGainPerK: 0.03,
  maxSupplyRiseK: 20,
  supplyTauSec: 300,
  neighbourShare: 0.05,
  designDeltaTK: 12,
  minFanPct: 30,
  fanPowerShare: 0.015,
  chillerOutdoorPerK: 0.015,
  chillerReferenceC: 20,
  unmanagedSupplyC: 18,
};

export class CoolingPlant {
  readonly unitIds: readonly string[];
  readonly unitIndex: ReadonlyMap<string, number>;
  readonly unitZone: Int32Array;
  readonly capacityKw: Float64Array;
  readonly setpointC: Float64Array;
  /** Coil health (share of rated capacity left), changed by degradation events. */
  readonly health: Float64Array;
  /** Fan health (share of rated airflow left). */
  readonly fanHealth: Float64Array;
  readonly failed: Uint8Array;

  // Per-unit outputs of the last update.
  readonly supplyC: Float64Array;
  readonly returnC: Float64Array;
  readonly fanPct: Float64Array;
  readonly powerKw: Float64Array;
  readonly heatRemovedKw: Float64Array;

  // Per-zone state.
  readonly zoneSupplyC: Float64Array;
  readonly zoneLoadKw: Float64Array;
  readonly zoneRemovedKw: Float64Array;
  readonly zoneManaged: Uint8Array;
  private readonly zoneUnits: number[][];
  private readonly zoneSetpoint: Float64Array;
  private readonly zoneNominal: Float64Array;
  private readonly zoneBorrowed: Float64Array;
  private readonly zoneLentIn: Float64Array;
  private readonly zoneOwnRemoved: Float64Array;
  private readonly unitAirflowM3s: Float64Array;
  private readonly roomSpare: Float64Array;
  private readonly roomDeficit: Float64Array;
  /** Cooling power for zones without units (not attributed to any unit), kW. */
  unmanagedPowerKw = 0;

  constructor(
    units: readonly CoolingUnitConfig[],
    private readonly layout: RackLayout,
    readonly params: CoolingParams = DEFAULT_COOLING,
  ) {
    const n = units.length;
    const zones = layout.zoneIds.length;
    this.unitIds = units.map((u) => u.id);
    this.unitIndex = new Map(this.unitIds.map((id, i) => [id, i]));
    this.unitZone = Int32Array.from(units, (u) => layout.zoneIndex.get(u.zone) ?? 0);
    this.capacityKw = Float64Array.from(units, (u) => u.capacityKw);
    this.setpointC = Float64Array.from(units, (u) => u.supplySetpointC);
    this.health = new Float64Array(n).fill(1);
    this.fanHealth = new Float64Array(n).fill(1);
    this.failed = new Uint8Array(n);
    this.supplyC = Float64Array.from(this.setpointC);
    this.returnC = Float64Array.from(this.setpointC);
    this.fanPct = new Float64Array(n);
    this.powerKw = new Float64Array(n);
    this.heatRemovedKw = new Float64Array(n);
    this.unitAirflowM3s = Float64Array.from(
      units,
      (u) => (u.capacityKw * 1000) / (AIR_HEAT_CAPACITY * params.designDeltaTK),
    );
    this.zoneUnits = Array.from({ length: zones }, () => []);
    units.forEach((_, u) => {
      this.zoneUnits[this.unitZone[u]!]!.push(u);
    });
    this.zoneManaged = Uint8Array.from(this.zoneUnits, (list) => (list.length > 0 ? 1 : 0));
    this.zoneSetpoint = new Float64Array(zones);
    this.zoneNominal = new Float64Array(zones);
    this.zoneBorrowed = new Float64Array(zones);
    this.zoneLentIn = new Float64Array(zones);
    this.zoneOwnRemoved = new Float64Array(zones);
    this.zoneLoadKw = new Float64Array(zones);
    this.zoneRemovedKw = new Float64Array(zones);
    this.zoneSupplyC = new Float64Array(zones);
    this.roomSpare = new Float64Array(layout.roomIds.length);
    this.roomDeficit = new Float64Array(layout.roomIds.length);
    this.refreshNominal();
    for (let z = 0; z < zones; z++) this.zoneSupplyC[z] = this.zoneSetpoint[z]!;
  }

  /** Capacity and setpoint each zone has right now, before any drift (after events change units). */
  private refreshNominal(): void {
    const p = this.params;
    for (let z = 0; z < this.zoneUnits.length; z++) {
      const list = this.zoneUnits[z]!;
      if (list.length === 0) {
        this.zoneSetpoint[z] = p.unmanagedSupplyC;
        this.zoneNominal[z] = Number.POSITIVE_INFINITY;
        continue;
      }
      let cap = 0;
      let spSum = 0;
      let spCount = 0;
      for (const u of list) {
        if (this.failed[u]) continue;
        cap += this.capacityKw[u]! * this.health[u]! * this.fanHealth[u]!;
        spSum += this.setpointC[u]!;
        spCount++;
      }
      if (spCount === 0) {
        // Every unit is down: the zone's setpoint is still what the units were set to.
        for (const u of list) {
          spSum += this.setpointC[u]!;
          spCount++;
        }
      }
      this.zoneNominal[z] = cap;
      this.zoneSetpoint[z] = spSum / spCount;
    }
  }

  /**
   * Advance the controller by dt. `zoneLoadKw` is the IT heat each zone must lose;
   * `zoneReturnAirC` the mean rack outlet per zone (what a stopped unit's sensors read).
   */
  update(dtMs: number, zoneLoadKw: Float64Array, zoneReturnAirC: Float64Array, outdoorC: number): void {
    const p = this.params;
    this.refreshNominal();
    this.zoneLoadKw.set(zoneLoadKw);
    this.shareSpareCapacity();
    const k = lagFactor(dtMs, p.supplyTauSec);
    const chiller = 1 + p.chillerOutdoorPerK * Math.max(0, outdoorC - p.chillerReferenceC);
    this.unmanagedPowerKw = 0;
    this.zoneLentIn.fill(0);

    const zones = this.zoneUnits.length;
    for (let z = 0; z < zones; z++) {
      const load = zoneLoadKw[z]!;
      const sp = this.zoneSetpoint[z]!;
      if (!this.zoneManaged[z]) {
        this.zoneSupplyC[z] = sp;
        this.zoneRemovedKw[z] = load;
        this.unmanagedPowerKw += (load / coefficientOfPerformance(sp)) * chiller;
        continue;
      }
      const own = this.zoneNominal[z]!;
      const available = own + this.zoneBorrowed[z]!;
      let target = sp;
      if (load > available) {
        target =
          available <= 0
            ? sp + p.maxSupplyRiseK
            : sp + Math.min(p.maxSupplyRiseK, (load / available - 1) / p.capacityGainPerK);
      }
      const supply = this.zoneSupplyC[z]! + (target - this.zoneSupplyC[z]!) * k;
      this.zoneSupplyC[z] = supply;
      const boost = 1 + p.capacityGainPerK * Math.max(0, supply - sp);
      const removed = Math.min(load, available * boost);
      this.zoneRemovedKw[z] = removed;
      this.zoneOwnRemoved[z] = available > 0 ? (removed * own) / available : 0;
    }
    this.distributeLentHeat();

    for (let u = 0; u < this.unitIds.length; u++) {
      const z = this.unitZone[u]!;
      if (this.failed[u]) {
        const air = zoneReturnAirC[z]!;
        this.supplyC[u] = air;
        this.returnC[u] = air;
        this.fanPct[u] = 0;
        this.powerKw[u] = 0;
        this.heatRemovedKw[u] = 0;
        continue;
      }
      const unitCap = this.capacityKw[u]! * this.health[u]! * this.fanHealth[u]!;
      const zoneCap = this.zoneNominal[z]!;
      const removed = zoneCap > 0 ? ((this.zoneOwnRemoved[z]! + this.zoneLentIn[z]!) * unitCap) / zoneCap : 0;
      const supply = this.zoneSupplyC[z]!;
      // Fans follow the load: the airflow needed to carry `removed` at this coil's ΔT.
      const fan = Math.min(1, Math.max(p.minFanPct / 100, unitCap > 0 ? removed / unitCap : 1));
      const airflow = this.unitAirflowM3s[u]! * this.fanHealth[u]! * fan;
      this.supplyC[u] = supply;
      this.returnC[u] = supply + (removed * 1000) / (AIR_HEAT_CAPACITY * airflow);
      this.fanPct[u] = fan * 100;
      this.heatRemovedKw[u] = removed;
      this.powerKw[u] =
        (removed / coefficientOfPerformance(supply)) * chiller +
        this.capacityKw[u]! * p.fanPowerShare * fan ** 3;
    }
  }

  /** Zones in deficit borrow from spare capacity of other zones in the same room (at setpoint). */
  private shareSpareCapacity(): void {
    const p = this.params;
    this.zoneBorrowed.fill(0);
    const spare = this.roomSpare.fill(0);
    const deficit = this.roomDeficit.fill(0);
    const zones = this.zoneUnits.length;
    for (let z = 0; z < zones; z++) {
      if (!this.zoneManaged[z]) continue;
      const r = this.layout.zoneRoom[z]!;
      const gap = this.zoneNominal[z]! - this.zoneLoadKw[z]!;
      if (gap > 0) spare[r]! += gap;
      else deficit[r]! -= gap;
    }
    for (let z = 0; z < zones; z++) {
      if (!this.zoneManaged[z]) continue;
      const r = this.layout.zoneRoom[z]!;
      const need = this.zoneLoadKw[z]! - this.zoneNominal[z]!;
      if (need <= 0 || deficit[r]! <= 0) continue;
      this.zoneBorrowed[z] = Math.min(need, (p.neighbourShare * spare[r]! * need) / deficit[r]!);
    }
  }

  /** The heat a zone removed through borrowed capacity is carried by the lending zones' units. */
  private distributeLentHeat(): void {
    const zones = this.zoneUnits.length;
    for (let z = 0; z < zones; z++) {
      if (!this.zoneManaged[z] || this.zoneBorrowed[z]! <= 0) continue;
      const borrowedHeat = this.zoneRemovedKw[z]! - this.zoneOwnRemoved[z]!;
      if (borrowedHeat <= 0) continue;
      const r = this.layout.zoneRoom[z]!;
      let spareSum = 0;
      for (let y = 0; y < zones; y++) {
        if (y === z || !this.zoneManaged[y] || this.layout.zoneRoom[y] !== r) continue;
        spareSum += Math.max(0, this.zoneNominal[y]! - this.zoneLoadKw[y]!);
      }
      if (spareSum <= 0) continue;
      for (let y = 0; y < zones; y++) {
        if (y === z || !this.zoneManaged[y] || this.layout.zoneRoom[y] !== r) continue;
        const s = Math.max(0, this.zoneNominal[y]! - this.zoneLoadKw[y]!);
        this.zoneLentIn[y]! += (borrowedHeat * s) / spareSum;
      }
    }
  }

  /** Total cooling power, kW: units plus the unmodelled cooling of zones without units. */
  totalPowerKw(): number {
    let sum = this.unmanagedPowerKw;
    for (let u = 0; u < this.powerKw.length; u++) sum += this.powerKw[u]!;
    return sum;
  }
}
