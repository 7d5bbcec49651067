/**
 * Physical constants and the small formulas of DESIGN.md "Physics". Pure.
 */

/** Air density, kg/m³ (sea level, ~20 °C). */
export const AIR_DENSITY = 1.2;
/** Specific heat of air, J/(kg·K). */
export const AIR_SPECIFIC_HEAT = 1005;
/** ρ·c_p, J/(m³·K): joules to warm one cubic metre of air by one kelvin. */
export const AIR_HEAT_CAPACITY = AIR_DENSITY * AIR_SPECIFIC_HEAT;

/**
 * Default rack airflow per kW of power cap, m³/s. With ρ·c_p ≈ 1206 J/(m³·K) a rack at its cap
 * warms its air by 1000 / (1206 · 0.07) ≈ 11.8 K, inside the 10–15 K of real IT equipment.
 */
export const DEFAULT_AIRFLOW_PER_KW = 0.07;

export function defaultAirflowM3s(powerCapKw: number): number {
  return powerCapKw * DEFAULT_AIRFLOW_PER_KW;
}

/** Temperature rise across equipment per kW for a given airflow: 1000 / (ρ·c_p·airflow), K/kW. */
export function airRiseKPerKw(airflowM3s: number): number {
  return 1000 / (AIR_HEAT_CAPACITY * airflowM3s);
}

/** Heat carried by an airflow warmed by ΔT, kW. */
export function airHeatKw(airflowM3s: number, deltaTK: number): number {
  return (AIR_HEAT_CAPACITY * airflowM3s * deltaTK) / 1000;
}

/** Coefficient of performance of a chilled-water CRAC at supply temperature T (HP Labs model). */
export function coefficientOfPerformance(supplyC: number): number {
  return 0.0068 * supplyC * supplyC + 0.0008 * supplyC + 0.458;
}

/** The share of the gap to a target closed in dt by a first-order lag with time constant tau. */
export function lagFactor(dtMs: number, tauSec: number): number {
  if (tauSec <= 0) return 1;
  return 1 - Math.exp(-dtMs / (tauSec * 1000));
}
