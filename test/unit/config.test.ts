import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { runValidate } from '../../src/cli/validate.ts';
import { filterCovers, formatConfigPath, parseConfigPath } from '../../src/config/crossChecks.ts';
import type { ConfigProblem } from '../../src/config/loader.ts';
import {
  ConfigError,
  closest,
  formatProblems,
  loadSiteFile,
  parseSiteText,
} from '../../src/config/loader.ts';
import { SiteSchema } from '../../src/config/schema.ts';

/** A small valid site; every broken case below is one edit away from it. */
const BASE = `site: { id: t, name: Test }
rooms:
  - id: r
    rows:
      - id: a
        zone: z1
        racks:
          - { id: r1, position: 1, powerCapKw: 30, feeds: { a: fa, b: fb } }
          - { id: r2, position: 2, powerCapKw: 30, feeds: { a: fa, b: fb } }
      - id: b
        zone: z1
        racks:
          - id: r3
            position: 1
            powerCapKw: 30
            feeds: { a: fa }
            nodes: [{ name: n1, gpus: 8 }, { name: n2 }]
coolingUnits:
  - { id: cu1, room: r, zone: z1, capacityKw: 100 }
powerFeeds:
  - { id: fa, capacityKw: 100 }
  - { id: fb, capacityKw: 100 }
thresholds: { inletWarnC: 27, inletCriticalC: 32 }
tariff:
  basePricePerKwh: 0.1
  periods:
    - { name: peak, from: '17:00', to: '21:00', pricePerKwh: 0.3 }
telemetry:
  - topic: dc/{site}/{rack}/{metric}
    format: value
    fields: { inlet: inlet_c, power: { metric: power_kw, unit: W } }
  - topic: bms/{site}/cooling/{unit}
    format: json
    target: cooling
    fields: { supply: supply_c }
`;

/** BASE with one edit; fails loudly if the text to replace is gone, so a case cannot pass vacuously. */
function edit(from: string, to: string): string {
  expect(BASE.includes(from), `BASE contains ${JSON.stringify(from)}`).toBe(true);
  return BASE.replace(from, to);
}

function problemsOf(text: string, file = 'site.yaml'): ConfigProblem[] {
  const result = parseSiteText(text, file);
  if (result.ok) throw new Error('expected problems, the file was accepted');
  return result.problems;
}

describe('parseSiteText', () => {
  it('accepts the base site and fills defaults', () => {
    const result = parseSiteText(BASE, 'site.yaml');
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config.site.timezone).toBe('UTC');
    expect(result.config.rooms[0]?.containment).toBe('none');
    expect(result.config.telemetry[0]?.qos).toBe(1);
  });

  const broken: Array<{ name: string; text: string; path: string; message: RegExp; line?: number }> = [
    {
      name: 'wrong type, with the received type',
      text: edit('r1, position: 1, powerCapKw: 30', "r1, position: 1, powerCapKw: '30'"),
      path: 'rooms[0].rows[0].racks[0].powerCapKw',
      message: /expected powerCapKw in kW as a number, received string '30'.*remove the quotes/,
      line: 8,
    },
    {
      name: 'unknown key, with a suggestion and the allowed keys',
      text: edit('            powerCapKw: 30\n', '            powrCapKw: 30\n'),
      path: 'rooms[0].rows[1].racks[0].powrCapKw',
      message:
        /unknown key 'powrCapKw'; did you mean 'powerCapKw'\? Allowed keys here: id, position, zone, powerCapKw, feeds, nodes/,
      line: 15,
    },
    {
      name: 'unknown top-level key',
      text: edit('coolingUnits:', 'coolingUnit:'),
      path: 'coolingUnit',
      message: /did you mean 'coolingUnits'\?/,
      line: 18,
    },
    {
      name: 'missing required field',
      text: edit('{ id: t, name: Test }', '{ id: t }'),
      path: 'site.name',
      message: /missing required field 'name'/,
    },
    {
      name: 'bad enum, listing the allowed values',
      text: edit('format: json', 'format: jsn'),
      path: 'telemetry[1].format',
      message: /'jsn' is not allowed; expected one of: json, influx-line, value \(did you mean 'json'\?\)/,
    },
    {
      name: 'unknown metric inside a field map',
      text: edit('supply: supply_c', 'supply: supply'),
      path: 'telemetry[1].fields.supply',
      message:
        /'supply' is not allowed; expected one of: inlet_c.*or a mapping with keys metric, unit \(did you mean 'supply_c'\?\)/,
    },
    {
      name: 'too few items',
      text: edit('    rows:\n      - id: a\n', '    rows: []\n    rowz:\n      - id: a\n'),
      path: 'rooms[0].rows',
      message: /a room needs at least one row/,
    },
    {
      name: 'secret instead of an environment variable name',
      text: `${BASE}broker: { passwordEnv: hunter2 }\n`,
      path: 'broker.passwordEnv',
      message: /NAME of an environment variable.*received 'hunter2'/,
    },
    {
      name: 'duplicate rack ids, naming both places',
      text: edit('id: r3', 'id: r1'),
      path: 'rooms[0].rows[1].racks[0].id',
      message: /rack 'r1' is used twice \(also at rooms\[0\]\.rows\[0\]\.racks\[0\]\.id\)/,
      line: 13,
    },
    {
      name: 'duplicate row ids in a room',
      text: edit('      - id: b\n', '      - id: a\n'),
      path: 'rooms[0].rows[1].id',
      message: /row 'a' is used twice/,
    },
    {
      name: 'two racks at one position',
      text: edit('r2, position: 2', 'r2, position: 1'),
      path: 'rooms[0].rows[0].racks[1].position',
      message: /racks 'r1' and 'r2' both stand at position 1 of row 'a'/,
    },
    {
      name: 'duplicate node names',
      text: edit('{ name: n2 }', '{ name: n1 }'),
      path: 'rooms[0].rows[1].racks[0].nodes[1].name',
      message: /node 'n1' is used twice/,
    },
    {
      name: 'zone without a cooling unit',
      text: edit('      - id: b\n        zone: z1', '      - id: b\n        zone: z9'),
      path: 'rooms[0].rows[1].zone',
      message: /is in zone 'z9' but no coolingUnits entry has zone 'z9'; known zones: z1/,
    },
    {
      name: 'cooling unit in an unknown room',
      text: edit('{ id: cu1, room: r,', '{ id: cu1, room: q,'),
      path: 'coolingUnits[0].room',
      message: /room 'q', which is not in rooms; known rooms: r/,
    },
    {
      name: 'feed not in powerFeeds',
      text: edit('feeds: { a: fa }', 'feeds: { a: fx }'),
      path: 'rooms[0].rows[1].racks[0].feeds.a',
      message: /power feed 'fx', which is not in powerFeeds; known feeds: fa, fb/,
    },
    {
      name: 'feed B equal to feed A',
      text: edit('feeds: { a: fa }', 'feeds: { a: fa, b: fa }'),
      path: 'rooms[0].rows[1].racks[0].feeds.b',
      message: /'fa' as both A and B/,
    },
    {
      name: 'warning threshold at or above critical',
      text: edit('inletWarnC: 27', 'inletWarnC: 32'),
      path: 'thresholds.inletWarnC',
      message: /must be below inletCriticalC \(32 °C\)/,
    },
    {
      name: 'tariff period that never applies',
      text: edit("to: '21:00'", "to: '17:00'"),
      path: 'tariff.periods[0].to',
      message: /starts and ends at 17:00, so it never applies/,
    },
    {
      name: 'topic pattern that cannot match',
      text: edit('dc/{site}/{rack}/{metric}', 'dc/{site}/rack-{rack}/{metric}'),
      path: 'telemetry[0].topic',
      message: /mixes text and a wildcard/,
    },
    {
      name: 'metric that does not belong to the target kind',
      text: edit('inlet: inlet_c,', 'inlet: supply_c,'),
      path: 'telemetry[0].fields.inlet',
      message: /metric 'supply_c' does not belong to target 'rack'; a rack mapping may use inlet_c/,
    },
    {
      name: 'unit that does not fit the metric',
      text: edit('unit: W', 'unit: F'),
      path: 'telemetry[0].fields.power.unit',
      message: /unit 'F' cannot be converted to power_kw; use one of W, kW, MW/,
    },
    {
      name: 'rack mapping that cannot tell the rack',
      text: edit('dc/{site}/{rack}/{metric}', 'dc/{site}/{host}/{metric}'),
      path: 'telemetry[0].topic',
      message: /must name the rack in the topic; add a \{rack\} level/,
    },
    {
      name: 'json mapping without an id level or idField',
      text: edit('bms/{site}/cooling/{unit}', 'bms/{site}/cooling/{host}'),
      path: 'telemetry[1].topic',
      message: /add a \{unit\} level to the topic or set idField/,
    },
    {
      name: '{metric} level on a json mapping',
      text: edit('bms/{site}/cooling/{unit}', 'bms/{site}/cooling/{unit}/{metric}'),
      path: 'telemetry[1].topic',
      message: /\{metric\} level is meaningless for format json/,
    },
    {
      name: 'value mapping without {metric} and several fields',
      text: edit('dc/{site}/{rack}/{metric}', 'dc/{site}/{rack}/inlet'),
      path: 'telemetry[0].fields',
      message: /fields needs exactly one entry \(it has 2\)/,
    },
    {
      name: 'mapping shadowed by an identical filter',
      text: edit('bms/{site}/cooling/{unit}', 'dc/{site}/{unit}/{metric}'),
      path: 'telemetry[1].topic',
      message:
        /same filter \(dc\/t\/\+\/\+\) as telemetry\[0\].*first mapping whose pattern matches, so this mapping is never used/,
    },
    {
      name: 'mapping shadowed by a broader earlier one',
      text: edit('dc/{site}/{rack}/{metric}', 'bms/{site}/{rack}/{metric}').replace(
        'bms/{site}/cooling/{unit}',
        'bms/t/cooling/{unit}',
      ),
      path: 'telemetry[1].topic',
      message: /also matches telemetry\[0\].*Move it above telemetry\[0\]/,
    },
    {
      name: 'YAML syntax error, with line and column',
      text: edit('  - id: r\n    rows:', '  - id: r\n    rows: [\n'),
      path: '',
      message: /YAML syntax error at line \d+, column \d+/,
    },
    {
      name: 'duplicate YAML key',
      text: edit('thresholds: {', 'powerFeeds: []\nthresholds: {'),
      path: '',
      message: /YAML syntax error at line 23, column 1: Map keys must be unique/,
    },
  ];

  it.each(broken)('$name', ({ text, path, message, line }) => {
    const problems = problemsOf(text);
    const match = problems.find((p) => p.path === path && message.test(p.message));
    expect(match, formatProblems(problems)).toBeDefined();
    if (line !== undefined) expect(match?.line).toBe(line);
  });

  it('reports every schema problem at once', () => {
    const text = edit('inletWarnC: 27', "inletWarnC: 'x'").replace('format: json', 'format: jsn');
    const paths = problemsOf(text).map((p) => p.path);
    expect(paths).toEqual(expect.arrayContaining(['thresholds.inletWarnC', 'telemetry[1].format']));
  });

  it('says so when the file is empty or not a mapping', () => {
    expect(problemsOf('')[0]?.message).toMatch(/file is empty/);
    expect(problemsOf('- a\n- b\n')[0]?.message).toMatch(
      /expected a mapping with keys site, powerCapKw, rooms.*received a list/,
    );
  });

  it('returns a deeply frozen config', () => {
    const result = parseSiteText(BASE, 'site.yaml');
    if (!result.ok) throw new Error(formatProblems(result.problems));
    const rack = result.config.rooms[0]!.rows[0]!.racks[0]!;
    expect(Object.isFrozen(result.config)).toBe(true);
    expect(Object.isFrozen(rack)).toBe(true);
    expect(Object.isFrozen(result.config.telemetry[0]!.fields)).toBe(true);
    expect(() => {
      (rack as { powerCapKw: number }).powerCapKw = 99;
    }).toThrow(TypeError);
    expect(() => (result.config.rooms as unknown[]).push({})).toThrow(TypeError);
  });

  it('freezes its own copy, leaving zod defaults of other parses mutable', () => {
    const frozen = parseSiteText(BASE, 'site.yaml');
    if (!frozen.ok) throw new Error('base must load');
    expect(Object.isFrozen(frozen.config.storage.influx)).toBe(true);
    const plain = SiteSchema.parse(parseYaml(BASE));
    expect(Object.isFrozen(plain.storage.influx)).toBe(false);
  });

  it('accepts YAML anchors and merge keys for shared node specs', () => {
    const text = edit(
      'nodes: [{ name: n1, gpus: 8 }, { name: n2 }]',
      'nodes:\n              - &gpu { name: n1, gpus: 8, gpuKw: 0.5 }\n              - { <<: *gpu, name: n2 }',
    );
    const result = parseSiteText(text, 'site.yaml');
    if (!result.ok) throw new Error(formatProblems(result.problems));
    expect(result.config.rooms[0]?.rows[1]?.racks[0]?.nodes[1]).toMatchObject({
      name: 'n2',
      gpus: 8,
      gpuKw: 0.5,
    });
  });

  it('reads .json files strictly, with the line of a syntax error', () => {
    const result = parseSiteText(BASE, 'site.yaml');
    if (!result.ok) throw new Error('base must load');
    expect(parseSiteText(JSON.stringify(result.config, null, 2), 'site.json').ok).toBe(true);
    const problems = problemsOf('{\n  "site": { "id": "t", "name": "T" },\n  "rooms": [1,\n}\n', 'site.json');
    expect(problems[0]?.message).toMatch(/^JSON syntax error at line 4, column 1/);
    // YAML-only syntax is not JSON.
    expect(problemsOf(BASE, 'site.json')[0]?.message).toMatch(/^JSON syntax error/);
  });
});

describe('loadSiteFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hotaisle-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('loads a file from disk', () => {
    const file = join(dir, 'good.yaml');
    writeFileSync(file, BASE);
    const result = loadSiteFile(file);
    expect(result.ok).toBe(true);
    expect(result.file).toBe(file);
  });

  it('turns a missing file into a problem with an empty path', () => {
    const result = loadSiteFile(join(dir, 'nope.yaml'));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems).toEqual([
      { file: join(dir, 'nope.yaml'), path: '', message: expect.stringMatching(/file not found/) },
    ]);
  });
});

describe('formatProblems and ConfigError', () => {
  const problems: ConfigProblem[] = [
    { file: 'a.yaml', path: 'rooms[0].id', message: 'bad id', line: 3 },
    { file: 'a.yaml', path: '', message: 'file is empty' },
  ];

  it('prints one line per problem as file: path: message', () => {
    expect(formatProblems(problems)).toBe('a.yaml: rooms[0].id: bad id (line 3)\na.yaml: file is empty');
  });

  it('carries a code and every problem', () => {
    const err = new ConfigError(problems);
    expect(err).toBeInstanceOf(Error);
    expect(err.code).toBe('HOTAISLE_CONFIG_INVALID');
    expect(err.problems).toHaveLength(2);
    expect(err.message).toContain('a.yaml: rooms[0].id: bad id');
  });
});

describe('helpers', () => {
  it('formats and parses field paths', () => {
    const segments = ['telemetry', 2, 'fields', 'sensors.inlet', 'unit'];
    const path = formatConfigPath(segments);
    expect(path).toBe('telemetry[2].fields["sensors.inlet"].unit');
    expect(parseConfigPath(path)).toEqual(segments);
    expect(formatConfigPath(['rooms', 0, 'rows', 2, 'racks', 5, 'powerCapKw'])).toBe(
      'rooms[0].rows[2].racks[5].powerCapKw',
    );
  });

  it('suggests only near misses', () => {
    expect(closest('powrCapKw', ['id', 'powerCapKw'])).toBe('powerCapKw');
    expect(closest('influx', ['json', 'influx-line'])).toBe('influx-line');
    expect(closest('V', ['C', 'F', 'W'])).toBeUndefined();
    expect(closest('banana', ['id', 'zone'])).toBeUndefined();
  });

  it('knows which MQTT filters cover others', () => {
    expect(filterCovers('a/+/c', 'a/b/c')).toBe(true);
    expect(filterCovers('a/#', 'a/b/c')).toBe(true);
    expect(filterCovers('a/#', 'a')).toBe(true);
    expect(filterCovers('a/b/c', 'a/+/c')).toBe(false);
    expect(filterCovers('a/+', 'a/b/c')).toBe(false);
    expect(filterCovers('a/+/+', 'a/#')).toBe(false);
  });
});

describe('runValidate', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hotaisle-validate-'));
  const good = join(dir, 'good.yaml');
  const bad = join(dir, 'bad.yml');
  writeFileSync(good, BASE);
  writeFileSync(bad, edit('id: r3', 'id: r1'));
  writeFileSync(join(dir, 'notes.txt'), 'not a site');
  mkdirSync(join(dir, 'nested'));
  writeFileSync(join(dir, 'nested', 'broken.yaml'), 'site: [');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('returns 0 and a summary line when every file is good', () => {
    const lines: string[] = [];
    expect(runValidate([good], (l) => lines.push(l))).toBe(0);
    expect(lines).toEqual([`${good}: ok (3 racks, 1 cooling unit)`]);
  });

  it('returns 1 and prints every problem when a file is bad', () => {
    const lines: string[] = [];
    expect(runValidate([good, bad, join(dir, 'missing.yaml')], (l) => lines.push(l))).toBe(1);
    const text = lines.join('\n');
    expect(text).toContain(`${good}: ok`);
    expect(text).toContain(`${bad}: rooms[0].rows[1].racks[0].id: rack 'r1' is used twice`);
    expect(text).toContain(`${join(dir, 'missing.yaml')}: file not found`);
  });

  it('validates the site files directly in a directory, not in subdirectories', () => {
    const lines: string[] = [];
    expect(runValidate([], (l) => lines.push(l), dir)).toBe(1);
    const text = lines.join('\n');
    expect(text).toContain(`${good}: ok`);
    expect(text).toContain(`${bad}: `);
    expect(text).not.toContain('notes.txt');
    expect(text).not.toContain('broken.yaml');
  });

  it('fails when there is nothing to validate', () => {
    const empty = mkdtempSync(join(tmpdir(), 'hotaisle-empty-'));
    const lines: string[] = [];
    try {
      expect(runValidate([empty], (l) => lines.push(l))).toBe(1);
      expect(lines[0]).toMatch(/no site files/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
