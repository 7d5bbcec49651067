import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadSiteFile } from '../../src/config/loader.ts';
import { type SiteInput, SiteSchema } from '../../src/config/schema.ts';
import { buildSiteIndex } from '../../src/config/siteIndex.ts';
import type { Logger } from '../../src/log.ts';
import { STANDARD_TELEMETRY } from '../../src/sim/hall.ts';
import type { Reading } from '../../src/telemetry/reading.ts';
import { RejectLog } from '../../src/telemetry/rejects.ts';
import { TelemetryRouter } from '../../src/telemetry/router.ts';

const NOW = Date.UTC(2024, 5, 1, 12, 0, 0);

/** The five mappings the site files use (one definition, shared with the simulator's generated halls). */
const MAPPINGS: SiteInput['telemetry'] = STANDARD_TELEMETRY;

function site(overrides: Partial<SiteInput> = {}) {
  return SiteSchema.parse({
    site: { id: 'lab', name: 'Lab' },
    powerCapKw: 100,
    rooms: [
      {
        id: 'hall',
        rows: [
          {
            id: 'a',
            zone: 'z1',
            racks: [
              { id: 'r01', position: 1, powerCapKw: 20, feeds: { a: 'fa' } },
              { id: 'r02', position: 2, powerCapKw: 40, feeds: { a: 'fa' } },
            ],
          },
        ],
      },
    ],
    coolingUnits: [{ id: 'cu1', room: 'hall', zone: 'z1', capacityKw: 80 }],
    telemetry: MAPPINGS,
    ...overrides,
  });
}

function router(overrides: Partial<SiteInput> = {}) {
  const config = site(overrides);
  return new TelemetryRouter(config, buildSiteIndex(config));
}

const route = (r: TelemetryRouter, topic: string, payload: string | Buffer, at = NOW) =>
  r.route(topic, typeof payload === 'string' ? Buffer.from(payload) : payload, at);

const reading = (
  target: string,
  metric: string,
  value: number,
  ts = NOW,
  kind: Reading['kind'] = 'rack',
) => ({
  kind,
  site: 'lab',
  target,
  metric,
  value,
  ts,
});

describe('TelemetryRouter subscriptions', () => {
  it('fills {site} with this site and leaves other wildcards open', () => {
    expect(router().subscriptions()).toEqual([
      { filter: 'dc/lab/+/+/+/+', qos: 1 },
      { filter: 'telegraf/+/+', qos: 1 },
      { filter: 'bms/lab/cooling/+', qos: 1 },
      { filter: 'bms/lab/site', qos: 1 },
      { filter: 'hotaisle/ingest/lab/+', qos: 1 },
    ]);
  });

  it('prefixes $share/<group>/ when the site is shared among agents', () => {
    const subs = router({ broker: { sharedGroup: 'hotaisle' } }).subscriptions();
    expect(subs.map((s) => s.filter)).toContain('$share/hotaisle/hotaisle/ingest/lab/+');
    expect(subs.every((s) => s.filter.startsWith('$share/hotaisle/'))).toBe(true);
  });

  it('refuses unusable mappings, naming each one', () => {
    const bad = () =>
      router({
        telemetry: [
          { topic: 'x/{rack}', format: 'json', fields: { t: { metric: 'power_kw', unit: 'F' } } },
          { topic: 'y/{host}', format: 'json', fields: { t: 'inlet_c' } },
          { topic: 'z/{rack}', format: 'json', fields: { f: 'fan_pct' } },
          { topic: 'w/{rack}', format: 'value', fields: { a: 'inlet_c', b: 'outlet_c' } },
        ],
      });
    expect(bad).toThrow(/telemetry\[0\] \(x\/\{rack\}\): field t: unit F cannot describe power_kw/);
    expect(bad).toThrow(/telemetry\[1\].*needs a \{rack\} topic level or an idField/);
    expect(bad).toThrow(/telemetry\[2\].*fan_pct is not a rack metric/);
    expect(bad).toThrow(/telemetry\[3\].*\{metric\} topic level/);
  });
});

describe('TelemetryRouter.route', () => {
  const r = router();

  it('routes a bare value per topic, converting W to kW', () => {
    expect(route(r, 'dc/lab/hall/a/r01/inlet', ' 22.5\n')).toEqual({
      readings: [reading('r01', 'inlet_c', 22.5)],
      rejects: [],
    });
    expect(route(r, 'dc/lab/hall/a/r02/power', '12500').readings).toEqual([reading('r02', 'power_kw', 12.5)]);
  });

  it('routes the compact JSON rack sample with its own timestamp', () => {
    const ts = NOW - 2000;
    const out = route(
      r,
      'hotaisle/ingest/lab/r01',
      JSON.stringify({ ts, inlet: 21, outlet: 33.5, power: 14.2 }),
    );
    expect(out.rejects).toEqual([]);
    expect(out.readings).toEqual([
      reading('r01', 'inlet_c', 21, ts),
      reading('r01', 'outlet_c', 33.5, ts),
      reading('r01', 'power_kw', 14.2, ts),
    ]);
  });

  it('stamps JSON without a timestamp with the receive time, and accepts ISO strings', () => {
    expect(route(r, 'hotaisle/ingest/lab/r01', '{"inlet":21}').readings).toEqual([
      reading('r01', 'inlet_c', 21),
    ]);
    const iso = new Date(NOW - 60_000).toISOString();
    expect(route(r, 'hotaisle/ingest/lab/r01', `{"inlet":21,"ts":"${iso}"}`).readings[0]?.ts).toBe(
      NOW - 60_000,
    );
  });

  it('routes BMS cooling JSON converting °F to °C', () => {
    const out = route(
      r,
      'bms/lab/cooling/cu1',
      JSON.stringify({ ts: NOW, supplyTempF: 64.4, returnTempF: 86, fanPct: 55, powerKw: 12 }),
    );
    expect(out.rejects).toEqual([]);
    expect(out.readings.map((x) => [x.kind, x.target, x.metric, Number(x.value.toFixed(6))])).toEqual([
      ['cooling', 'cu1', 'supply_c', 18],
      ['cooling', 'cu1', 'return_c', 30],
      ['cooling', 'cu1', 'fan_pct', 55],
      ['cooling', 'cu1', 'power_kw', 12],
    ]);
  });

  it('routes site-level JSON to the site id', () => {
    const out = route(r, 'bms/lab/site', JSON.stringify({ ts: NOW, facilityKw: 70.5, outdoorC: 12 }));
    expect(out.readings).toEqual([
      reading('lab', 'power_kw', 70.5, NOW, 'site'),
      reading('lab', 'outdoor_c', 12, NOW, 'site'),
    ]);
  });

  it('routes a Telegraf batch: rack from a tag, ns timestamps, W → kW, extra fields counted once', () => {
    const t1 = NOW - 10_000;
    const t2 = NOW - 5_000;
    const batch = [
      `rack_env,host=n1,rack=r01 inlet_temp=22.5,exhaust_temp=36,power_w=9800i,uptime=1234i,load=0.5 ${t1}000000`,
      `rack_env,host=n2,rack=r02 inlet_temp=23,power_w=15000u,status="ok",fan_rpm=9000i ${t2}123456`,
      'rack_env,host=n3,rack=r01 inlet_temp=24',
      '',
    ].join('\n');
    const out = route(r, 'telegraf/n1/rack_env', batch);
    expect(out.readings).toEqual([
      reading('r01', 'inlet_c', 22.5, t1),
      reading('r01', 'outlet_c', 36, t1),
      reading('r01', 'power_kw', 9.8, t1),
      reading('r02', 'inlet_c', 23, t2),
      reading('r02', 'power_kw', 15, t2),
      reading('r01', 'inlet_c', 24, NOW),
    ]);
    // String fields are ignored; numeric extras give one reject for the whole message.
    expect(out.rejects).toEqual([
      { reason: 'unknown_field', detail: expect.stringMatching(/^uptime, load, fan_rpm not in fields/) },
    ]);
  });

  it('rejects unknown racks and cooling units with the id', () => {
    const out = route(r, 'hotaisle/ingest/lab/r99', '{"inlet":21}');
    expect(out.readings).toEqual([]);
    expect(out.rejects).toEqual([{ reason: 'unknown_target', detail: 'rack r99 is not in site lab' }]);
    expect(route(r, 'bms/lab/cooling/cu9', '{"fanPct":3}').rejects[0]).toMatchObject({
      reason: 'unknown_target',
      detail: expect.stringContaining('cu9'),
    });
    expect(route(r, 'telegraf/h/m', 'm,host=h inlet_temp=21').rejects[0]).toMatchObject({
      reason: 'unknown_target',
      detail: expect.stringContaining('"rack" missing'),
    });
  });

  it('counts unknown JSON fields once per message, listing them', () => {
    const out = route(
      r,
      'hotaisle/ingest/lab/r01',
      '[{"inlet":21,"humid":40,"x":1},{"inlet":22,"humid":41,"y":2}]',
    );
    expect(out.readings.map((x) => x.value)).toEqual([21, 22]);
    expect(out.rejects).toEqual([
      { reason: 'unknown_field', detail: expect.stringMatching(/^humid, x, y not in fields/) },
    ]);
    expect(route(r, 'dc/lab/hall/a/r01/humidity', '40').rejects[0]?.reason).toBe('unknown_field');
  });

  it('rejects NaN, strings, nulls and booleans as not_a_number', () => {
    expect(route(r, 'dc/lab/hall/a/r01/inlet', 'nan').rejects[0]?.reason).toBe('not_a_number');
    expect(route(r, 'dc/lab/hall/a/r01/inlet', '').rejects[0]?.reason).toBe('not_a_number');
    expect(route(r, 'dc/lab/hall/a/r01/inlet', 'on').rejects[0]?.reason).toBe('not_a_number');
    const out = route(r, 'hotaisle/ingest/lab/r01', '{"inlet":"21","outlet":null,"power":true}');
    expect(out.readings).toEqual([]);
    expect(out.rejects.map((x) => x.reason)).toEqual(['not_a_number', 'not_a_number', 'not_a_number']);
    expect(route(r, 'telegraf/h/m', 'm,rack=r01 inlet_temp=true').rejects[0]?.reason).toBe('not_a_number');
  });

  it('rejects absurd values per metric and per rack cap', () => {
    expect(route(r, 'dc/lab/hall/a/r01/inlet', '250').rejects[0]?.reason).toBe('implausible_value');
    expect(route(r, 'dc/lab/hall/a/r01/inlet', '-40').rejects[0]?.reason).toBe('implausible_value');
    // r01 cap 20 kW → 30 kW plausible, 31 kW not; r02 cap 40 kW takes 31 kW.
    expect(route(r, 'hotaisle/ingest/lab/r01', '{"power":30}').readings).toHaveLength(1);
    expect(route(r, 'hotaisle/ingest/lab/r01', '{"power":31}').rejects[0]).toMatchObject({
      reason: 'implausible_value',
      detail: expect.stringContaining('power_kw=31 outside 0…30'),
    });
    expect(route(r, 'hotaisle/ingest/lab/r02', '{"power":31}').readings).toHaveLength(1);
    expect(route(r, 'hotaisle/ingest/lab/r01', '{"power":-1}').rejects[0]?.reason).toBe('implausible_value');
    expect(route(r, 'bms/lab/cooling/cu1', '{"fanPct":140}').rejects[0]?.reason).toBe('implausible_value');
    expect(route(r, 'bms/lab/site', '{"facilityKw":151}').rejects[0]?.reason).toBe('implausible_value');
    expect(route(r, 'bms/lab/site', '{"facilityKw":149}').readings).toHaveLength(1);
  });

  it('keeps the good fields of a message when one field is bad', () => {
    const out = route(r, 'hotaisle/ingest/lab/r01', `{"ts":${NOW},"inlet":21.5,"outlet":"hot","power":9999}`);
    expect(out.readings).toEqual([reading('r01', 'inlet_c', 21.5)]);
    expect(out.rejects.map((x) => x.reason)).toEqual(['not_a_number', 'implausible_value']);
    const lines = route(
      r,
      'telegraf/h/m',
      'm,rack=r01 inlet_temp=21\nm,rack=r01 inlet_temp=oops\nm,rack=r02 inlet_temp=22',
    );
    expect(lines.readings.map((x) => [x.target, x.value])).toEqual([
      ['r01', 21],
      ['r02', 22],
    ]);
    expect(lines.rejects).toEqual([
      { reason: 'malformed_payload', detail: expect.stringMatching(/^line 2: /) },
    ]);
  });

  it('rejects timestamps too far ahead or too old, per ingest limits', () => {
    const ahead = route(r, 'hotaisle/ingest/lab/r01', `{"ts":${NOW + 6 * 60_000},"inlet":21}`);
    expect(ahead).toEqual({
      readings: [],
      rejects: [{ reason: 'timestamp_in_future', detail: expect.any(String) }],
    });
    expect(
      route(r, 'hotaisle/ingest/lab/r01', `{"ts":${NOW + 4 * 60_000},"inlet":21}`).readings,
    ).toHaveLength(1);
    const old = route(r, 'hotaisle/ingest/lab/r01', `{"ts":${NOW - 8 * 86_400_000},"inlet":21}`);
    expect(old.rejects[0]?.reason).toBe('timestamp_too_old');
    expect(
      route(r, 'telegraf/h/m', `m,rack=r01 inlet_temp=21 ${NOW + 3_600_000}000000`).rejects[0]?.reason,
    ).toBe('timestamp_in_future');
    const strict = router({ ingest: { maxFutureMs: 0, maxAgeMs: 1000 } });
    expect(
      route(strict, 'hotaisle/ingest/lab/r01', `{"ts":${NOW - 1001},"inlet":21}`).rejects[0]?.reason,
    ).toBe('timestamp_too_old');
    expect(route(strict, 'hotaisle/ingest/lab/r01', `{"ts":"soon","inlet":21}`).rejects[0]?.reason).toBe(
      'malformed_payload',
    );
  });

  it('rejects oversized and malformed payloads', () => {
    const small = router({ ingest: { maxPayloadBytes: 64 } });
    expect(
      route(small, 'hotaisle/ingest/lab/r01', `{"inlet":21,"pad":"${'x'.repeat(64)}"}`).rejects[0]?.reason,
    ).toBe('payload_too_large');
    expect(route(r, 'hotaisle/ingest/lab/r01', '{"inlet":').rejects[0]?.reason).toBe('malformed_payload');
    expect(route(r, 'hotaisle/ingest/lab/r01', '17').rejects[0]?.reason).toBe('malformed_payload');
    const garbage = Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0x01, 0xff]);
    expect(route(r, 'hotaisle/ingest/lab/r01', garbage).rejects[0]?.reason).toBe('malformed_payload');
    expect(route(r, 'telegraf/h/m', garbage).rejects[0]?.reason).toBe('malformed_payload');
    expect(route(r, 'dc/lab/hall/a/r01/inlet', garbage).rejects[0]?.reason).toBe('not_a_number');
  });

  it('does not route another site’s topics', () => {
    expect(route(r, 'hotaisle/ingest/other/r01', '{"inlet":21}')).toEqual({
      readings: [],
      rejects: [{ reason: 'no_mapping', detail: expect.stringContaining('hotaisle/ingest/other/r01') }],
    });
    expect(route(r, 'dc/other/hall/a/r01/inlet', '21').rejects[0]?.reason).toBe('no_mapping');
    expect(route(r, 'dc/lab/hall/a/r01', '21').rejects[0]?.reason).toBe('no_mapping');
  });

  it('lets the first matching mapping win', () => {
    const both = router({
      telemetry: [
        { topic: 'x/{site}/{rack}', format: 'value', fields: { v: 'inlet_c' } },
        { topic: 'x/{site}/{rack}', format: 'json', fields: { v: 'outlet_c' } },
        { topic: 'x/#', format: 'json', fields: { v: 'power_kw' }, idField: 'rack' },
      ],
    });
    expect(route(both, 'x/lab/r01', '21').readings).toEqual([reading('r01', 'inlet_c', 21)]);
    expect(both.mappingFor('x/lab/r01')?.format).toBe('value');
    expect(route(both, 'x/lab/r01/deeper', '{"rack":"r02","v":5}').readings).toEqual([
      reading('r02', 'power_kw', 5),
    ]);
  });

  it.each(readdirSync('sites').filter((f) => /\.ya?ml$/.test(f)))('builds from sites/%s', (file) => {
    const loaded = loadSiteFile(`sites/${file}`);
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
    const config = loaded.config;
    const fromFile = new TelemetryRouter(config, buildSiteIndex(config));
    expect(fromFile.subscriptions().length).toBe(config.telemetry.length);
    const rack = buildSiteIndex(config).rackIds[0]!;
    const out = route(
      fromFile,
      `hotaisle/ingest/${config.site.id}/${rack}`,
      `{"ts":${NOW},"inlet":21,"outlet":30,"power":1}`,
    );
    expect(out).toEqual({ readings: expect.any(Array), rejects: [] });
    expect(out.readings).toHaveLength(3);
  });
});

describe('RejectLog', () => {
  function capture() {
    const lines: Array<{ fields: Record<string, unknown>; msg: string }> = [];
    const log = {
      warn: (fields: Record<string, unknown>, msg: string) => lines.push({ fields, msg }),
    } as unknown as Logger;
    return { log, lines };
  }

  it('counts every reject but logs only a burst per reason per window, then a summary', () => {
    let now = 0;
    const { log, lines } = capture();
    const rejects = new RejectLog({ log, burst: 3, windowMs: 60_000, now: () => now });
    for (let i = 0; i < 10; i++) rejects.record('t/a', 'not_a_number', `n${i}`);
    rejects.record('t/b', 'unknown_target', 'rack r9');
    expect(rejects.count('not_a_number')).toBe(10);
    expect(rejects.total()).toBe(11);
    expect(rejects.counts()).toMatchObject({ not_a_number: 10, unknown_target: 1, payload_too_large: 0 });
    expect(lines.map((l) => l.fields.detail)).toEqual(['n0', 'n1', 'n2', 'rack r9']);

    rejects.flush(); // window not over yet: nothing
    expect(lines).toHaveLength(4);
    now = 60_000;
    rejects.flush();
    expect(lines.at(-1)?.fields).toEqual({ reason: 'not_a_number', suppressed: 7 });
    expect(lines).toHaveLength(5);
    // A new window logs a fresh burst.
    rejects.record('t/a', 'not_a_number', 'again');
    expect(lines.at(-1)?.fields.detail).toBe('again');
  });

  it('summarizes suppressed rejects when the next one arrives after the window', () => {
    let now = 0;
    const { log, lines } = capture();
    const rejects = new RejectLog({ log, burst: 1, windowMs: 1000, now: () => now });
    rejects.record('t', 'implausible_value', 'a');
    rejects.record('t', 'implausible_value', 'b');
    rejects.record('t', 'implausible_value', 'c');
    now = 1500;
    rejects.record('t', 'implausible_value', 'd');
    expect(lines.map((l) => l.fields.suppressed ?? l.fields.detail)).toEqual(['a', 2, 'd']);
    rejects.record('t', 'implausible_value', 'e');
    rejects.flush(true);
    expect(lines.at(-1)?.fields).toEqual({ reason: 'implausible_value', suppressed: 1 });
  });

  it('dead-letters rejects except unknown fields, and survives a throwing callback', () => {
    const { log } = capture();
    const letters: string[] = [];
    const rejects = new RejectLog({
      log,
      deadLetter: (e) => {
        letters.push(`${e.reason}:${e.payload.toString()}`);
        if (e.reason === 'malformed_payload') throw new Error('broker gone');
      },
    });
    rejects.record('t', 'unknown_field', 'x', Buffer.from('p1'));
    rejects.record('t', 'not_a_number', 'y', Buffer.from('p2'));
    rejects.record('t', 'malformed_payload', 'z', Buffer.from('p3'));
    expect(letters).toEqual(['not_a_number:p2', 'malformed_payload:p3']);
    expect(rejects.deadLetterFailures()).toBe(1);
    expect(rejects.total()).toBe(3);
  });
});
