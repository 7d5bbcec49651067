/**
 * Thermal sensitivity dT_in/dP: how much a rack's inlet settles higher per extra kW on itself or on
 * a neighbour — what placement needs for "what if we add 10 kW here". It comes from the model's
 * steady-state fit (inlet − supply on own, layout-weighted neighbour, aisle-mean and zone-mean power;
 * levels, which ordinary operation identifies well) or, for a rack without one, from the layout prior.
 */
import type { ForecastLayout } from './layout.ts';
import { LAYOUT_SENSITIVITY_PRIOR } from './layout.ts';
import type { CompiledModel } from './models.ts';

export interface RackSensitivity {
  rack: string;
  source: 'model' | 'layout';
  /** °C of steady inlet rise on this rack per extra kW on this rack. */
  ownCPerKw: number;
  /** °C of steady inlet rise on this rack per extra kW on each neighbour. */
  neighbours: Array<{ rack: string; cPerKw: number }>;
  /** °C per extra kW on any other rack of the same aisle group / zone (diffuse recirculation). */
  aisleCPerKw: number;
  zoneCPerKw: number;
}

const MAX_C_PER_KW = 1;
const clamp = (v: number) => Math.min(MAX_C_PER_KW, Math.max(0, v));

interface Terms {
  source: 'model' | 'layout';
  own: number;
  nbrPerWeight: number;
  aisle: number;
  zone: number;
}

/** Per-kW terms for rack i: own power, neighbour power per unit layout weight, one kW anywhere in its aisle / zone. */
function terms(model: CompiledModel | undefined, layout: ForecastLayout, i: number): Terms {
  const own = model?.level[i * 4];
  if (model && own !== undefined && !Number.isNaN(own)) {
    return {
      source: 'model',
      own,
      nbrPerWeight: model.level[i * 4 + 1]!,
      // The aisle and zone terms are per kW of mean rack power: one kW on one rack moves the mean by 1/size.
      aisle: model.level[i * 4 + 2]! / layout.aisleSize[layout.aisle[i]!]!,
      zone: model.level[i * 4 + 3]! / layout.zoneSize[layout.zone[i]!]!,
    };
  }
  const p = LAYOUT_SENSITIVITY_PRIOR;
  return { source: 'layout', own: p.ownCPerKw, nbrPerWeight: p.neighbourCPerKwAtWeight1, aisle: 0, zone: 0 };
}

export function rackSensitivity(
  model: CompiledModel | undefined,
  layout: ForecastLayout,
  i: number,
): RackSensitivity {
  const t = terms(model, layout, i);
  const neighbours: RackSensitivity['neighbours'] = [];
  for (let k = layout.nbrStart[i]!; k < layout.nbrStart[i + 1]!; k++) {
    const j = layout.nbrCol[k]!;
    const sameAisle = layout.aisle[j] === layout.aisle[i];
    const sameZone = layout.zone[j] === layout.zone[i];
    neighbours.push({
      rack: layout.rackIds[j]!,
      cPerKw: r4(
        clamp(t.nbrPerWeight * layout.nbrW[k]! + (sameAisle ? t.aisle : 0) + (sameZone ? t.zone : 0)),
      ),
    });
  }
  return {
    rack: layout.rackIds[i]!,
    source: t.source,
    ownCPerKw: r4(clamp(t.own + t.aisle + t.zone)),
    neighbours,
    aisleCPerKw: r4(clamp(t.aisle)),
    zoneCPerKw: r4(clamp(t.zone)),
  };
}

const r4 = (v: number) => Math.round(v * 1e4) / 1e4;

export interface WhatIfEffect {
  rack: string;
  riseC: number;
}

/**
 * Steady inlet rise on every rack affected by `addKw` more on rack j (own, neighbours, and the
 * diffuse share on its aisle group and zone); effects under 0.01 °C are left out.
 */
export function whatIfAdd(
  model: CompiledModel | undefined,
  layout: ForecastLayout,
  j: number,
  addKw: number,
): WhatIfEffect[] {
  const effects: WhatIfEffect[] = [];
  for (let i = 0; i < layout.n; i++) {
    if (layout.zone[i] !== layout.zone[j] && layout.aisle[i] !== layout.aisle[j]) continue;
    const t = terms(model, layout, i);
    let per =
      (layout.aisle[i] === layout.aisle[j] ? t.aisle : 0) + (layout.zone[i] === layout.zone[j] ? t.zone : 0);
    if (i === j) per += t.own;
    else {
      for (let k = layout.nbrStart[i]!; k < layout.nbrStart[i + 1]!; k++) {
        if (layout.nbrCol[k] === j) per += t.nbrPerWeight * layout.nbrW[k]!;
      }
    }
    const rise = clamp(per) * addKw;
    if (rise >= 0.01) effects.push({ rack: layout.rackIds[i]!, riseC: Math.round(rise * 100) / 100 });
  }
  return effects.sort((a, b) => b.riseC - a.riseC);
}

/**
 * Thermal headroom per rack: the kW that could be added on it before it or a neighbour is forecast
 * to reach `limitC`, from the forecast peak (max of current and all horizons) and the own and
 * neighbour sensitivities. Diffuse aisle/zone effects are left to `whatIfAdd`. NaN when unknown.
 */
export function headroomKw(
  model: CompiledModel | undefined,
  layout: ForecastLayout,
  peakC: Float64Array,
  limitC: number,
): Float64Array {
  const n = layout.n;
  const own = new Float64Array(n);
  const nbr = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const t = terms(model, layout, i);
    own[i] = clamp(t.own + t.aisle + t.zone);
    nbr[i] = t.nbrPerWeight;
  }
  const out = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    const mj = limitC - peakC[j]!;
    let h = own[j]! > 0 ? Math.max(0, mj) / own[j]! : Number.POSITIVE_INFINITY;
    // Neighbour lists are symmetric (same weights both ways), so j's list names the racks j heats.
    for (let k = layout.nbrStart[j]!; k < layout.nbrStart[j + 1]!; k++) {
      const i = layout.nbrCol[k]!;
      const s = clamp(nbr[i]! * layout.nbrW[k]!);
      if (s > 0 && !Number.isNaN(peakC[i]!)) h = Math.min(h, Math.max(0, limitC - peakC[i]!) / s);
    }
    out[j] = Number.isNaN(mj) ? Number.NaN : h;
  }
  return out;
}
