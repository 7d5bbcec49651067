/**
 * What placement needs to know about heat, behind one narrow interface, so recommendations do not
 * depend on how forecasts are made. A forecaster plugs in through `forecastThermalModel`; without
 * one, `LayoutThermalModel` estimates from the latest readings and rack positions.
 */
import type { SiteIndex } from '../config/siteIndex.ts';

export interface RackSensitivityView {
  /** °C of steady inlet rise on this rack per extra kW on it. */
  selfCPerKw: number;
  /** °C of steady inlet rise on each neighbour per extra kW on this rack. */
  neighbours: ReadonlyArray<{ rack: string; cPerKw: number }>;
}

export interface ThermalModel {
  /** Where the numbers come from, shown in reasons. */
  readonly source: 'forecast' | 'layout';
  /** Current inlet, °C; undefined when unknown. */
  inletNowC(rack: string): number | undefined;
  /** Highest forecast inlet over the horizons without any new load, °C. */
  predictedPeakC(rack: string): number | undefined;
  sensitivity(rack: string): RackSensitivityView;
  /** Active or predicted hotspot on the rack. */
  hotspot(rack: string): 'warn' | 'critical' | undefined;
}

/** Layout defaults when nothing was fitted: own rise per kW and the share felt next door. */
export const LAYOUT_SELF_C_PER_KW = 0.01;
export const LAYOUT_NEIGHBOUR_C_PER_KW = [0.025, 0.008] as const;

/** Inlet from the latest readings; sensitivity from row neighbours (±1, ±2 positions). */
export class LayoutThermalModel implements ThermalModel {
  readonly source = 'layout' as const;
  private readonly neighbourCache = new Map<string, RackSensitivityView>();

  constructor(
    private readonly index: SiteIndex,
    private readonly inlet: (rack: string) => number | undefined,
  ) {}

  inletNowC(rack: string): number | undefined {
    return this.inlet(rack);
  }

  predictedPeakC(rack: string): number | undefined {
    return this.inlet(rack);
  }

  sensitivity(rack: string): RackSensitivityView {
    const cached = this.neighbourCache.get(rack);
    if (cached) return cached;
    const mates = this.index.rowmates(rack);
    const i = mates.indexOf(rack);
    const neighbours: Array<{ rack: string; cPerKw: number }> = [];
    LAYOUT_NEIGHBOUR_C_PER_KW.forEach((cPerKw, d) => {
      for (const j of [i - d - 1, i + d + 1]) {
        const other = mates[j];
        if (i >= 0 && other !== undefined) neighbours.push({ rack: other, cPerKw });
      }
    });
    const view = { selfCPerKw: LAYOUT_SELF_C_PER_KW, neighbours };
    this.neighbourCache.set(rack, view);
    return view;
  }

  hotspot(rack: string): 'warn' | 'critical' | undefined {
    const t = this.inlet(rack);
    if (t === undefined) return undefined;
    const { inletWarnC, inletCriticalC } = this.index.site.thresholds;
    return t >= inletCriticalC ? 'critical' : t >= inletWarnC ? 'warn' : undefined;
  }
}

/**
 * The parts of a forecast cycle this module reads, typed structurally so src/forecast can change
 * its internals freely (its ForecastSet and RackSensitivity satisfy these shapes).
 */
export interface ForecastSetLike {
  readonly rackIds: readonly string[];
  readonly horizonsMin: readonly number[];
  readonly current: ArrayLike<number>;
  readonly predicted: ArrayLike<number>;
  readonly hotspots: ReadonlyArray<{ rack: string; severity: 'warn' | 'critical' }>;
}
export interface RackSensitivityLike {
  ownCPerKw: number;
  neighbours: ReadonlyArray<{ rack: string; cPerKw: number }>;
}
export interface ForecastSource {
  latest(): ForecastSetLike | undefined;
  sensitivity(rack: string): RackSensitivityLike | undefined;
}

/**
 * A ThermalModel over a forecaster. Note the forecast gives "rise on me per kW on my neighbour";
 * placement needs "rise on neighbours per kW on me": for the symmetric recirculation of one row
 * these agree, so the neighbour list is used as is. Falls back to the layout for gaps.
 */
export function forecastThermalModel(source: ForecastSource, fallback: LayoutThermalModel): ThermalModel {
  let lastSet: ForecastSetLike | undefined;
  let position = new Map<string, number>();
  let hot = new Map<string, 'warn' | 'critical'>();
  const current = (): ForecastSetLike | undefined => {
    const set = source.latest();
    if (set !== lastSet) {
      lastSet = set;
      position = new Map(set?.rackIds.map((r, i) => [r, i]) ?? []);
      hot = new Map(set?.hotspots.map((h) => [h.rack, h.severity]) ?? []);
    }
    return set;
  };
  return {
    source: 'forecast',
    inletNowC(rack) {
      const set = current();
      const i = position.get(rack);
      const v = set && i !== undefined ? set.current[i] : undefined;
      return v !== undefined && Number.isFinite(v) ? v : fallback.inletNowC(rack);
    },
    predictedPeakC(rack) {
      const set = current();
      const i = position.get(rack);
      if (!set || i === undefined) return fallback.predictedPeakC(rack);
      const h = set.horizonsMin.length;
      let peak = Number.NEGATIVE_INFINITY;
      for (let k = 0; k < h; k++) {
        const v = set.predicted[i * h + k];
        if (v !== undefined && Number.isFinite(v) && v > peak) peak = v;
      }
      const now = set.current[i];
      if (now !== undefined && Number.isFinite(now) && now > peak) peak = now;
      return Number.isFinite(peak) ? peak : fallback.predictedPeakC(rack);
    },
    sensitivity(rack) {
      const s = source.sensitivity(rack);
      return s ? { selfCPerKw: s.ownCPerKw, neighbours: s.neighbours } : fallback.sensitivity(rack);
    },
    hotspot(rack) {
      const set = current();
      return set ? hot.get(rack) : fallback.hotspot(rack);
    },
  };
}
