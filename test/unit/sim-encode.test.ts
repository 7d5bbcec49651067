import { describe, expect, it } from 'vitest';
import { compileTopicPattern } from '../../src/config/topics.ts';
import { frameToReadings, TelemetryEncoder } from '../../src/sim/encode.ts';
import { smallTwoRoomSite } from '../../src/sim/fixtures.ts';
import { DataCenterSim } from '../../src/sim/simulator.ts';
import type { Reading } from '../../src/telemetry/reading.ts';

const T0 = Date.UTC(2025, 5, 2, 9, 30, 0);

function simWithLoad() {
  const site = smallTwoRoomSite();
  const sim = new DataCenterSim(site, { seed: 9, startTs: T0 });
  sim.placeJob({ id: 'j', gpus: 16, rackId: 'r12', start: T0, durationMs: 3_600_000 });
  sim.advanceTo(T0 + 60_000);
  return { site, sim };
}

const find = (rs: Reading[], target: string, metric: string) =>
  rs.find((r) => r.target === target && r.metric === metric)!.value;

describe('telemetry encoder', () => {
  it('value format: one topic per metric, bare numbers in the mapped unit', () => {
    const { site, sim } = simWithLoad();
    const readings = sim.readings();
    const messages = new TelemetryEncoder(site).encode(readings);
    const pattern = compileTopicPattern('dc/{site}/{room}/{row}/{rack}/{metric}');
    const fieldMetric: Record<string, [string, number]> = {
      inlet: ['inlet_c', 1],
      outlet: ['outlet_c', 1],
      power: ['power_kw', 1000],
    };
    const rackMessages = messages.filter((m) => m.topic.startsWith('dc/'));
    expect(rackMessages).toHaveLength(sim.layout.n * 3);
    for (const m of rackMessages) {
      const params = pattern.match(m.topic)!;
      expect(params.site).toBe('small');
      const [metric, scale] = fieldMetric[params.metric!]!;
      expect(Number(m.payload) / scale).toBeCloseTo(find(readings, params.rack!, metric), 2);
      expect(m.payload).toMatch(/^-?\d+(\.\d+)?$/);
      expect(m.qos).toBe(1);
    }
    expect(rackMessages.map((m) => m.topic)).toContain('dc/small/a/r1/r12/power');
  });

  it('json format: mapped keys converted back (°C → °F), the timestamp field, one message per target', () => {
    const { site, sim } = simWithLoad();
    const frame = sim.frame();
    const messages = new TelemetryEncoder(site).encodeFrame(frame);
    const cooling = messages.filter((m) => m.topic.startsWith('bms/small/cooling/'));
    expect(cooling.map((m) => m.topic)).toEqual(frame.cooling.ids.map((id) => `bms/small/cooling/${id}`));
    cooling.forEach((m, u) => {
      const body = JSON.parse(m.payload) as Record<string, number>;
      expect(Object.keys(body).sort()).toEqual(['fanPct', 'powerKw', 'returnTempF', 'supplyTempF', 'ts']);
      expect(body.ts).toBe(frame.ts);
      expect(((body.supplyTempF! - 32) * 5) / 9).toBeCloseTo(frame.cooling.supplyC[u]!, 2);
      expect(((body.returnTempF! - 32) * 5) / 9).toBeCloseTo(frame.cooling.returnC[u]!, 2);
      expect(body.fanPct).toBeCloseTo(frame.cooling.fanPct[u]!, 2);
      expect(body.powerKw).toBeCloseTo(frame.cooling.powerKw[u]!, 3);
    });
    const siteMsg = messages.find((m) => m.topic === 'bms/small/site')!;
    const body = JSON.parse(siteMsg.payload) as Record<string, number>;
    expect(body.facilityKw).toBeCloseTo(frame.site.powerKw, 3);
    expect(body.outdoorC).toBeCloseTo(frame.site.outdoorC, 3);
    expect(body.ts).toBe(frame.ts);
  });

  it('influx-line format: Telegraf line protocol with the rack in a tag and a ns timestamp', () => {
    const { site, sim } = simWithLoad();
    const frame = sim.frame();
    const line = new TelemetryEncoder(site, { rackMappings: [1] }).encodeFrame(frame);
    const r12 = line.find((m) => m.topic === 'telegraf/r12-n1/rack_sensors')!;
    const i = sim.layout.rackIndex.get('r12')!;
    const match = r12.payload.match(
      /^rack_sensors,rack=r12,room=a,host=r12-n1 inlet_temp=(-?[\d.]+),exhaust_temp=(-?[\d.]+),power_w=(-?[\d.]+) (\d+)$/,
    );
    expect(match).not.toBeNull();
    expect(Number(match![1])).toBeCloseTo(frame.racks.inletC[i]!, 2);
    expect(Number(match![2])).toBeCloseTo(frame.racks.outletC[i]!, 2);
    expect(Number(match![3]) / 1000).toBeCloseTo(frame.racks.powerKw[i]!, 3);
    expect(match![4]).toBe(`${frame.ts}000000`);
    expect(line.filter((m) => m.topic.startsWith('dc/'))).toHaveLength(0);
  });

  it('spreads racks across every rack mapping when asked, and leaves out dropped readings', () => {
    const { site, sim } = simWithLoad();
    const readings = frameToReadings(sim.frame()).filter(
      (r) => !(r.target === 'r11' && r.metric === 'outlet_c'),
    );
    const messages = new TelemetryEncoder(site, { rackMappings: 'spread' }).encode(readings);
    const kinds = new Set(messages.map((m) => m.topic.split('/')[0]));
    expect(kinds).toEqual(new Set(['dc', 'telegraf', 'hotaisle', 'bms']));
    // r11 is the first rack: it goes to the first mapping (value), without its missing outlet.
    expect(
      messages.filter((m) => m.topic.startsWith('dc/small/a/r1/r11/')).map((m) => m.topic.split('/').pop()),
    ).toEqual(['inlet', 'power']);
    const compact = messages.find((m) => m.topic === 'hotaisle/ingest/small/r13')!;
    const body = JSON.parse(compact.payload) as Record<string, number>;
    const i = sim.layout.rackIndex.get('r13')!;
    expect(body.power).toBeCloseTo(sim.frame().racks.powerKw[i]!, 3);
    expect(body.inlet).toBeCloseTo(sim.frame().racks.inletC[i]!, 2);
  });

  it('rejects a rack mapping index that is not a rack mapping', () => {
    expect(() => new TelemetryEncoder(smallTwoRoomSite(), { rackMappings: [2] })).toThrow(
      /not a rack mapping/,
    );
  });
});
