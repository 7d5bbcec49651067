/**
 * Outdoor air temperature: a daily cosine peaking mid-afternoon plus a per-day shift drawn from
 * the seed and blended smoothly across midnight, so a week has warmer and cooler days.
 */
import type { LocalClock } from './clock.ts';
import { hashNormal } from './random.ts';
import type { OutdoorOptions } from './scenario.ts';

export const DEFAULT_OUTDOOR: OutdoorOptions = { meanC: 15, amplitudeC: 5, peakHour: 15, dayToDayC: 1.5 };

export class OutdoorModel {
  constructor(
    readonly options: OutdoorOptions,
    private readonly clock: LocalClock,
    private readonly seed: number,
  ) {}

  temperatureC(ts: number): number {
    const o = this.options;
    const local = this.clock.at(ts);
    const shift = (day: number) => o.dayToDayC * hashNormal(this.seed, day, 0x0d7);
    const f = local.hour / 24;
    const blend = (1 - Math.cos(Math.PI * f)) / 2;
    const dayShift = shift(local.dayNumber) * (1 - blend) + shift(local.dayNumber + 1) * blend;
    return o.meanC + dayShift + o.amplitudeC * Math.cos((2 * Math.PI * (local.hour - o.peakHour)) / 24);
  }
}
