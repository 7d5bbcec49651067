/**
 * Recent readings per rack, zone and site in fixed ring buffers of time slots (sum and count per
 * slot, so a slot's value is the mean of its readings, as in stored history). `render` lays the
 * last slots out as a SignalFrame, carrying short gaps forward exactly as history alignment does.
 */
import type { Reading } from '../telemetry/reading.ts';
import type { SignalFrame } from './features.ts';
import type { ForecastLayout } from './layout.ts';

/** Slot rings for `entities` series of one signal. */
export class SlotRing {
  readonly sum: Float64Array;
  readonly cnt: Float64Array;
  /** Absolute slot number (floor(ts / step)) held at each ring position; -1 when empty. */
  readonly slot: Float64Array;

  constructor(
    readonly entities: number,
    readonly capacity: number,
  ) {
    this.sum = new Float64Array(entities * capacity);
    this.cnt = new Float64Array(entities * capacity);
    this.slot = new Float64Array(entities * capacity).fill(-1);
  }

  /** Add a value; returns false when its slot has already left the ring. */
  add(entity: number, slotNo: number, value: number): boolean {
    const pos = entity * this.capacity + (slotNo % this.capacity);
    const held = this.slot[pos]!;
    if (held !== slotNo) {
      if (held > slotNo) return false;
      this.slot[pos] = slotNo;
      this.sum[pos] = 0;
      this.cnt[pos] = 0;
    }
    this.sum[pos]! += value;
    this.cnt[pos]!++;
    return true;
  }

  /**
   * Write slots [lastSlot - width + 1, lastSlot] of `entity` into dest[offset ..], the mean per slot,
   * a gap of up to `maxFill` slots carried forward, NaN beyond.
   */
  render(
    entity: number,
    lastSlot: number,
    width: number,
    maxFill: number,
    dest: Float32Array,
    offset: number,
  ): void {
    const C = this.capacity;
    const base = entity * C;
    const first = lastSlot - width + 1;
    let last = Number.NaN;
    let age = Number.POSITIVE_INFINITY;
    for (let s = first - maxFill; s <= lastSlot; s++) {
      const pos = base + (((s % C) + C) % C);
      if (this.slot[pos] === s && this.cnt[pos]! > 0) {
        last = this.sum[pos]! / this.cnt[pos]!;
        age = 0;
      } else {
        age++;
      }
      if (s >= first) dest[offset + s - first] = age <= maxFill ? last : Number.NaN;
    }
  }
}

export interface ObserveCounts {
  accepted: number;
  /** Unknown rack/unit, another site, or a metric the forecaster does not use. */
  ignored: number;
  /** Older than the ring holds. */
  late: number;
  /** Stamped further ahead than allowed (a bad clock would otherwise hold ring slots hostage). */
  future: number;
}

/** All signals the features need, fed by readings. */
export class RollingState {
  readonly inlet: SlotRing;
  readonly power: SlotRing;
  readonly supply: SlotRing;
  readonly fan: SlotRing;
  readonly siteLoad: SlotRing;
  readonly outdoor: SlotRing;

  constructor(
    readonly layout: ForecastLayout,
    readonly stepMs: number,
    readonly capacity: number,
  ) {
    const Z = layout.zoneIds.length;
    this.inlet = new SlotRing(layout.n, capacity);
    this.power = new SlotRing(layout.n, capacity);
    this.supply = new SlotRing(Z, capacity);
    this.fan = new SlotRing(Z, capacity);
    this.siteLoad = new SlotRing(1, capacity);
    this.outdoor = new SlotRing(1, capacity);
  }

  /** Add readings; those stamped after `latestTs` are refused (counted as future). */
  observe(readings: readonly Reading[], counts: ObserveCounts, latestTs = Number.POSITIVE_INFINITY): void {
    const { layout, stepMs } = this;
    for (const r of readings) {
      if (r.site !== layout.site || !Number.isFinite(r.value)) {
        counts.ignored++;
        continue;
      }
      if (r.ts > latestTs) {
        counts.future++;
        continue;
      }
      const slot = Math.floor(r.ts / stepMs);
      let ring: SlotRing | undefined;
      let entity: number | undefined;
      if (r.kind === 'rack') {
        entity = layout.rackIndex.get(r.target);
        ring = r.metric === 'inlet_c' ? this.inlet : r.metric === 'power_kw' ? this.power : undefined;
      } else if (r.kind === 'cooling') {
        entity = layout.unitZone.get(r.target);
        ring = r.metric === 'supply_c' ? this.supply : r.metric === 'fan_pct' ? this.fan : undefined;
      } else {
        entity = 0;
        ring = r.metric === 'power_kw' ? this.siteLoad : r.metric === 'outdoor_c' ? this.outdoor : undefined;
      }
      if (ring === undefined || entity === undefined) counts.ignored++;
      else if (ring.add(entity, slot, r.value)) counts.accepted++;
      else counts.late++;
    }
  }

  /** Lay out the last `frame.stride` slots ending at `lastSlot` into `frame` (rack and zone rows in layout order). */
  render(frame: SignalFrame, lastSlot: number, maxFill: number): void {
    const W = frame.stride;
    const { layout } = this;
    for (let i = 0; i < layout.n; i++) {
      this.inlet.render(i, lastSlot, W, maxFill, frame.inlet, i * W);
      this.power.render(i, lastSlot, W, maxFill, frame.power, i * W);
    }
    for (let z = 0; z < layout.zoneIds.length; z++) {
      this.supply.render(z, lastSlot, W, maxFill, frame.supply, z * W);
      this.fan.render(z, lastSlot, W, maxFill, frame.fan, z * W);
    }
    this.siteLoad.render(0, lastSlot, W, maxFill, frame.siteLoad, 0);
    this.outdoor.render(0, lastSlot, W, maxFill, frame.outdoor, 0);
  }
}
