import { describe, expect, it } from 'vitest';
import { decodeLineProtocol, lineTimestampToMs } from '../../src/telemetry/decoders/influxLine.ts';
import {
  compileJsonPath,
  decodeJson,
  digitsToMs,
  jsonTimestampToMs,
  readJsonPath,
} from '../../src/telemetry/decoders/json.ts';
import { decodeValue } from '../../src/telemetry/decoders/value.ts';
import { canonicalUnit, converterFor, toCanonical, unitProblem } from '../../src/telemetry/units.ts';

describe('units', () => {
  it('converts to °C, kW and percent', () => {
    expect(toCanonical('inlet_c', 212, 'F')).toBeCloseTo(100, 10);
    expect(toCanonical('inlet_c', 64.4, 'F')).toBeCloseTo(18, 10);
    expect(toCanonical('supply_c', 293.15, 'K')).toBeCloseTo(20, 10);
    expect(toCanonical('power_kw', 8500, 'W')).toBe(8.5);
    expect(toCanonical('power_kw', 1.2, 'MW')).toBe(1200);
    expect(toCanonical('fan_pct', 0.65, 'ratio')).toBeCloseTo(65, 10);
    expect(toCanonical('fan_pct', 65, 'pct')).toBe(65);
    expect(toCanonical('inlet_c', 21.5, undefined)).toBe(21.5);
  });

  it('refuses units that cannot describe the metric', () => {
    expect(unitProblem('power_kw', 'F')).toMatch(/cannot describe power_kw/);
    expect(unitProblem('inlet_c', 'W')).toMatch(/C, F, K/);
    expect(unitProblem('inlet_c', 'F')).toBeUndefined();
    expect(() => converterFor('fan_pct', 'kW')).toThrow(/pct, ratio/);
    expect(canonicalUnit('outlet_c')).toBe('C');
    expect(canonicalUnit('power_kw')).toBe('kW');
  });
});

describe('value decoder', () => {
  it('reads one number, tolerating whitespace', () => {
    expect(decodeValue(Buffer.from('22.5'))).toBe(22.5);
    expect(decodeValue(' 22.5\n')).toBe(22.5);
    expect(decodeValue('-3')).toBe(-3);
    expect(decodeValue('1.5e3')).toBe(1500);
    expect(decodeValue('.5')).toBe(0.5);
  });

  it.each(['nan', 'NaN', '', '   ', 'on', 'true', 'Infinity', '0x1A', '22.5C', '1 2', '{"v":1}'])(
    'rejects %j',
    (text) => {
      expect(decodeValue(text)).toBeNaN();
    },
  );
});

describe('json decoder', () => {
  it('decodes an object or an array of objects', () => {
    expect(decodeJson('{"inlet":21}')).toEqual({ records: [{ inlet: 21 }], errors: [] });
    const many = decodeJson('[{"rack":"r1"},{"rack":"r2"}]');
    expect(many.records.map((r) => r.rack)).toEqual(['r1', 'r2']);
  });

  it('reports invalid JSON and non-object payloads without throwing', () => {
    expect(decodeJson('{"inlet": 2').errors[0]).toMatch(/invalid JSON/);
    expect(decodeJson('42').errors[0]).toMatch(/got number/);
    expect(decodeJson('null').errors[0]).toMatch(/got null/);
    const mixed = decodeJson('[{"a":1}, 3, [1]]');
    expect(mixed.records).toEqual([{ a: 1 }]);
    expect(mixed.errors).toEqual([
      'element 1: expected an object, got number',
      'element 2: expected an object, got an array',
    ]);
  });

  it('reads dotted paths, preferring a literal dotted key', () => {
    const rec = { sensors: { inlet: 20.5, deep: { x: 1 } }, 'a.b': 7, a: { b: 8 } };
    expect(readJsonPath(rec, compileJsonPath('sensors.inlet'))).toBe(20.5);
    expect(readJsonPath(rec, compileJsonPath('sensors.deep.x'))).toBe(1);
    expect(readJsonPath(rec, compileJsonPath('a.b'))).toBe(7);
    expect(readJsonPath(rec, compileJsonPath('sensors.outlet'))).toBeUndefined();
    expect(readJsonPath(rec, compileJsonPath('sensors.inlet.x'))).toBeUndefined();
    // Own properties only: nothing leaks in from Object.prototype.
    expect(readJsonPath({}, compileJsonPath('toString'))).toBeUndefined();
  });

  it('reads timestamps by precision and ISO strings', () => {
    expect(jsonTimestampToMs(1_700_000_000_123)).toBe(1_700_000_000_123);
    expect(jsonTimestampToMs(1_700_000_000.5, 's')).toBe(1_700_000_000_500);
    expect(jsonTimestampToMs(1_700_000_000_123_456, 'us')).toBe(1_700_000_000_123);
    expect(jsonTimestampToMs('1700000000123456789', 'ns')).toBe(1_700_000_000_123);
    expect(jsonTimestampToMs('2024-03-01T12:00:00.250Z')).toBe(Date.UTC(2024, 2, 1, 12, 0, 0, 250));
    expect(jsonTimestampToMs('2024-03-01T13:00:00+01:00')).toBe(Date.UTC(2024, 2, 1, 12));
    expect(jsonTimestampToMs('yesterday')).toBeNaN();
    expect(jsonTimestampToMs('3')).toBe(3);
    expect(jsonTimestampToMs(true)).toBeNaN();
    expect(jsonTimestampToMs(Number.POSITIVE_INFINITY)).toBeNaN();
  });

  it('cuts nanosecond digits as text, so no float rounding loses a millisecond', () => {
    // 1700000000002000000 is not representable as a double; dividing gives …001.99999.
    expect(Math.floor(Number('1700000000002000000') / 1e6)).toBe(1700000000001);
    expect(digitsToMs('1700000000002000000', 'ns')).toBe(1700000000002);
    expect(digitsToMs('123', 'ns')).toBe(0);
    expect(digitsToMs('1700000000', 's')).toBe(1700000000000);
  });
});

describe('line protocol decoder', () => {
  it('decodes a Telegraf point with tags, typed fields and a ns timestamp', () => {
    const { points, errors } = decodeLineProtocol(
      'rack_env,host=node-7,rack=r01 inlet_temp=22.5,exhaust_temp=35.25,power_w=8450i,fans=4u,ok=true,note="fine" 1700000000123456789\n',
    );
    expect(errors).toEqual([]);
    expect(points).toHaveLength(1);
    const p = points[0]!;
    expect(p.measurement).toBe('rack_env');
    expect([...p.tags]).toEqual([
      ['host', 'node-7'],
      ['rack', 'r01'],
    ]);
    expect(Object.fromEntries(p.fields)).toEqual({
      inlet_temp: 22.5,
      exhaust_temp: 35.25,
      power_w: 8450,
      fans: 4,
      ok: true,
      note: 'fine',
    });
    expect(p.timestamp).toBe('1700000000123456789');
    expect(lineTimestampToMs(p.timestamp!)).toBe(1_700_000_000_123);
    expect(lineTimestampToMs('1700000000', 's')).toBe(1_700_000_000_000);
  });

  it('decodes a batch of lines (Telegraf batch mode), with and without timestamps', () => {
    const text = [
      'rack_env,rack=r01 inlet_temp=21 1700000000000000000',
      'rack_env,rack=r02 inlet_temp=22',
      '',
      '# a comment',
      'rack_env,rack=r03 inlet_temp=23 1700000001000000000',
    ].join('\n');
    const { points, errors } = decodeLineProtocol(text);
    expect(errors).toEqual([]);
    expect(points.map((p) => [p.tags.get('rack'), p.fields.get('inlet_temp'), p.timestamp])).toEqual([
      ['r01', 21, '1700000000000000000'],
      ['r02', 22, undefined],
      ['r03', 23, '1700000001000000000'],
    ]);
  });

  it('unescapes commas, spaces and equals signs in measurement, tags and field keys', () => {
    const { points, errors } = decodeLineProtocol(
      'rack\\ env\\,x,site\\ name=hall\\ A,k\\=v=a\\,b\\=c field\\ one=1,msg="say \\"hi\\" \\\\ bye" 5\r\n',
    );
    expect(errors).toEqual([]);
    const p = points[0]!;
    expect(p.measurement).toBe('rack env,x');
    expect(p.tags.get('site name')).toBe('hall A');
    expect(p.tags.get('k=v')).toBe('a,b=c');
    expect(p.fields.get('field one')).toBe(1);
    expect(p.fields.get('msg')).toBe('say "hi" \\ bye');
    expect(p.timestamp).toBe('5');
  });

  it('reads every boolean spelling and float forms', () => {
    const { points } = decodeLineProtocol(
      'm a=t,b=T,c=true,d=True,e=TRUE,f=f,g=F,h=false,i=False,j=FALSE,k=-1.5e2,l=-3i,m=.5',
    );
    expect(Object.fromEntries(points[0]!.fields)).toEqual({
      a: true,
      b: true,
      c: true,
      d: true,
      e: true,
      f: false,
      g: false,
      h: false,
      i: false,
      j: false,
      k: -150,
      l: -3,
      m: 0.5,
    });
  });

  it('reports a bad line and keeps the good lines of the batch', () => {
    const text = [
      'rack_env,rack=r01 inlet_temp=21',
      'rack_env,rack=r02 inlet_temp=abc',
      'rack_env,rack=r03',
      'rack_env,rack= inlet_temp=1',
      'rack_env,rack=r04 inlet_temp=1 12x',
      'rack_env,rack=r05 s="open',
      'rack_env,rack=r06 inlet_temp=24 1',
    ].join('\n');
    const { points, errors } = decodeLineProtocol(text);
    expect(points.map((p) => p.tags.get('rack'))).toEqual(['r01', 'r06']);
    expect(errors.map((e) => e.line)).toEqual([2, 3, 4, 5, 6]);
    expect(errors[0]!.message).toMatch(/invalid value abc/);
    expect(errors[2]!.message).toMatch(/tag rack has no value/);
    expect(errors[3]!.message).toMatch(/timestamp 12x/);
  });

  it('rejects binary garbage without throwing', () => {
    const garbage = Buffer.from([0x00, 0xff, 0x13, 0x37, 0x0a, 0x80, 0x20, 0x3d]).toString('utf8');
    const { points, errors } = decodeLineProtocol(garbage);
    expect(points).toEqual([]);
    expect(errors.length).toBeGreaterThan(0);
  });
});
