/**
 * LineEncoder: readings → InfluxDB line protocol, the write path every stored reading takes.
 */
import { describe, expect, it } from 'vitest';
import { LineEncoder } from '../../src/store/points.ts';
import type { Reading } from '../../src/telemetry/reading.ts';
import { oneRowSite } from '../helpers/sites.ts';

const T = 1_764_000_000_000;
const rack = (target: string, metric: string, value: number, ts = T): Reading => ({
  kind: 'rack',
  site: 'dc',
  target,
  metric,
  value,
  ts,
});

describe('LineEncoder', () => {
  const index = oneRowSite('Encoder', 3);

  it('writes one line per target and timestamp with its tags sorted, fields merged in order', () => {
    const { body, points, skipped } = new LineEncoder(index).encode([
      rack('a0', 'inlet_c', 22.5),
      rack('a0', 'outlet_c', 34.25),
      rack('a0', 'power_kw', 8.4),
      rack('a1', 'inlet_c', 23),
    ]);
    expect(body.split('\n')).toEqual([
      `rack,rack=a0,room=h,row=a,site=dc inlet_c=22.5,outlet_c=34.25,power_kw=8.4 ${T}`,
      `rack,rack=a1,room=h,row=a,site=dc inlet_c=23 ${T}`,
    ]);
    expect(points).toBe(2);
    expect(skipped).toBe(0);
  });

  it('merges readings of one point that arrive apart, and keeps the last of a repeated metric', () => {
    const { body, points } = new LineEncoder(index).encode([
      rack('a0', 'inlet_c', 22),
      rack('a1', 'inlet_c', 23),
      rack('a0', 'power_kw', 8),
      rack('a0', 'inlet_c', 22.75),
      rack('a0', 'inlet_c', 21, T + 1000),
    ]);
    expect(body.split('\n')).toEqual([
      `rack,rack=a0,room=h,row=a,site=dc inlet_c=22.75,power_kw=8 ${T}`,
      `rack,rack=a1,room=h,row=a,site=dc inlet_c=23 ${T}`,
      `rack,rack=a0,room=h,row=a,site=dc inlet_c=21 ${T + 1000}`,
    ]);
    expect(points).toBe(3);
  });

  it('skips and counts non-finite values and times, rounds sub-millisecond times', () => {
    const { body, points, skipped } = new LineEncoder(index).encode([
      rack('a0', 'inlet_c', Number.NaN),
      rack('a0', 'outlet_c', Number.POSITIVE_INFINITY),
      rack('a1', 'inlet_c', 23, Number.NaN),
      rack('a2', 'inlet_c', 24, T + 0.6),
    ]);
    expect(body).toBe(`rack,rack=a2,room=h,row=a,site=dc inlet_c=24 ${T + 1}`);
    expect(points).toBe(1);
    expect(skipped).toBe(3);
  });

  it('escapes tag values and names cooling units and the site by their own tags', () => {
    const { body } = new LineEncoder(index).encode([
      { kind: 'rack', site: 'dc', target: 'odd rack,1', metric: 'inlet_c', value: 20, ts: T },
      { kind: 'cooling', site: 'dc', target: 'crah=2', metric: 'supply_c', value: 18, ts: T },
      { kind: 'site', site: 'dc', target: 'dc', metric: 'power_kw', value: 900, ts: T },
    ]);
    expect(body.split('\n')).toEqual([
      `rack,rack=odd\\ rack\\,1,site=dc inlet_c=20 ${T}`,
      `cooling,site=dc,unit=crah\\=2 supply_c=18 ${T}`,
      `site,site=dc power_kw=900 ${T}`,
    ]);
  });
});
