/**
 * `hotaisle validate` on the alerts section: routes naming unknown receivers, fallbacks that are
 * unknown or loop back to the failed receiver, route matchers that can never match, and threshold
 * overrides naming unknown rooms, rows and racks. Each problem names the file, the field path, what
 * is wrong and the fix.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runValidate } from '../../src/cli/validate.ts';
import { type ConfigProblem, parseSiteText } from '../../src/config/loader.ts';

/** A valid site with an alerts section; every broken case below is one edit away from it. */
const BASE = `site: { id: t, name: Test }
rooms:
  - id: hall
    rows:
      - id: a
        zone: z1
        racks:
          - { id: r1, position: 1, powerCapKw: 30, feeds: { a: fa, b: fb } }
          - { id: r2, position: 2, powerCapKw: 30, feeds: { a: fa, b: fb } }
  - id: annex
    rows:
      - id: b
        zone: z2
        racks:
          - { id: r3, position: 1, powerCapKw: 30, feeds: { a: fa } }
coolingUnits:
  - { id: cu1, room: hall, zone: z1, capacityKw: 100 }
  - { id: cu2, room: annex, zone: z2, capacityKw: 100 }
powerFeeds:
  - { id: fa, capacityKw: 100 }
  - { id: fb, capacityKw: 100 }
alerts:
  receivers:
    - { name: ops-webhook, kind: webhook, url: 'https://hooks.example.com/hotaisle' }
    - { name: am, kind: alertmanager, url: 'http://127.0.0.1:9093' }
    - { name: bus, kind: mqtt }
  routes:
    - { receiver: bus, continue: true }
    - { receiver: am, fallback: ops-webhook, severities: [warning, critical], match: { room: hall } }
    - { receiver: ops-webhook, match: { alertname: CoolingZoneWarming, severity: critical } }
  overrides:
    - { room: annex, inletWarnC: 25 }
    - { room: hall, row: a, inletWarnC: 26 }
    - { rack: r2, inletWarnC: 24, inletCriticalC: 30 }
`;

function edit(from: string, to: string): string {
  expect(BASE.includes(from), `BASE contains ${JSON.stringify(from)}`).toBe(true);
  return BASE.replace(from, to);
}

function problemsOf(text: string): ConfigProblem[] {
  const result = parseSiteText(text, 'site.yaml');
  if (result.ok) throw new Error('expected problems, the file was accepted');
  return result.problems;
}

describe('alerts section cross checks', () => {
  it('accepts the base site', () => {
    const result = parseSiteText(BASE, 'site.yaml');
    expect(result.ok ? [] : result.problems).toEqual([]);
  });

  const broken: Array<{ name: string; text: string; path: string; message: RegExp }> = [
    {
      name: 'route to an unknown receiver, listing the defined ones',
      text: edit('{ receiver: am, fallback', '{ receiver: pager, fallback'),
      path: 'alerts.routes[1].receiver',
      message:
        /^unknown receiver 'pager'; defined receivers: ops-webhook, am, bus\. Add it under alerts\.receivers/,
    },
    {
      name: 'fallback to an unknown receiver',
      text: edit('fallback: ops-webhook', 'fallback: ops-hook'),
      path: 'alerts.routes[1].fallback',
      message: /^unknown fallback receiver 'ops-hook'; defined receivers: ops-webhook, am, bus/,
    },
    {
      name: 'fallback to the route’s own receiver (a loop)',
      text: edit('fallback: ops-webhook', 'fallback: am'),
      path: 'alerts.routes[1].fallback',
      message: /fallback 'am' is the route's own receiver.*name a different receiver or remove fallback/,
    },
    {
      name: 'receiver defined twice',
      text: edit(
        '    - { name: bus, kind: mqtt }\n',
        '    - { name: bus, kind: mqtt }\n    - { name: am, kind: mqtt }\n',
      ),
      path: 'alerts.receivers[3].name',
      message: /receiver 'am' is defined twice \(also at alerts\.receivers\[1\]\)/,
    },
    {
      name: 'HTTP receiver without an address',
      text: edit(", url: 'http://127.0.0.1:9093' }", ' }'),
      path: 'alerts.receivers[1].url',
      message: /alertmanager receiver 'am' has no address; set url .*or urlEnv/,
    },
    {
      name: 'matcher on a label alerts do not carry',
      text: edit('match: { room: hall }', 'match: { hall: room }'),
      path: 'alerts.routes[1].match.hall',
      message: /alerts carry no label 'hall', so this route never matches; match on site, room, row, rack/,
    },
    {
      name: 'matcher on an unknown room',
      text: edit('match: { room: hall }', 'match: { room: hal }'),
      path: 'alerts.routes[1].match.room',
      message: /no room 'hal' in this site, so this route never matches; known rooms: hall, annex/,
    },
    {
      name: 'matcher on an alert name that is no rule',
      text: edit('alertname: CoolingZoneWarming', 'alertname: CoolingZoneWarm'),
      path: 'alerts.routes[2].match.alertname',
      message: /'CoolingZoneWarm' is not an alert name.*CoolingZoneWarming/,
    },
    {
      name: 'matcher on a severity the route’s severities exclude',
      text: edit(
        'severities: [warning, critical], match: { room: hall }',
        'severities: [warning], match: { severity: critical }',
      ),
      path: 'alerts.routes[1].match.severity',
      message:
        /severity 'critical' is not in this route's severities \(warning\), so this route never matches/,
    },
    {
      name: 'matcher on a severity that does not exist',
      text: edit('severity: critical }', 'severity: page }'),
      path: 'alerts.routes[2].match.severity',
      message: /severity 'page' does not exist.*info, warning, critical/,
    },
    {
      name: 'matcher on another site id',
      text: edit('match: { room: hall }', 'match: { site: lab }'),
      path: 'alerts.routes[1].match.site',
      message: /carry site 't', not 'lab'/,
    },
    {
      name: 'override naming an unknown room',
      text: edit('{ room: annex, inletWarnC: 25 }', '{ room: anex, inletWarnC: 25 }'),
      path: 'alerts.overrides[0].room',
      message: /^unknown room 'anex'; known rooms: hall, annex$/,
    },
    {
      name: 'override naming an unknown row',
      text: edit('{ room: hall, row: a,', '{ room: hall, row: c,'),
      path: 'alerts.overrides[1].row',
      message: /^unknown row 'c'; known rows: a, b$/,
    },
    {
      name: 'override naming a row of another room',
      text: edit('{ room: hall, row: a,', '{ room: hall, row: b,'),
      path: 'alerts.overrides[1].row',
      message: /row 'b' is not in room 'hall' \(it is in annex\), so this override matches no rack/,
    },
    {
      name: 'override naming an unknown rack',
      text: edit('{ rack: r2,', '{ rack: r9,'),
      path: 'alerts.overrides[2].rack',
      message: /^unknown rack 'r9'; racks are listed under rooms\[\]\.rows\[\]\.racks, e\.g\. r1, r2, r3$/,
    },
    {
      name: 'override of a rack with a room it is not in',
      text: edit('{ rack: r2,', '{ room: annex, rack: r2,'),
      path: 'alerts.overrides[2].rack',
      message:
        /rack 'r2' stands in room 'hall', row 'a', not in room 'annex', so this override never applies/,
    },
    {
      name: 'override naming nothing',
      text: edit('{ room: annex, inletWarnC: 25 }', '{ inletWarnC: 25 }'),
      path: 'alerts.overrides[0]',
      message: /names no room, row or rack.*set the values under thresholds instead/,
    },
    {
      name: 'override putting the warning at or above the critical limit',
      text: edit('{ rack: r2, inletWarnC: 24, inletCriticalC: 30 }', '{ rack: r2, inletWarnC: 33 }'),
      path: 'alerts.overrides[2].inletWarnC',
      message: /inlet warning \(33 °C\) is not below the critical limit \(32 °C\)/,
    },
  ];

  for (const c of broken) {
    it(c.name, () => {
      const problems = problemsOf(c.text);
      // Exactly the one problem the edit introduced: no noise from other checks.
      expect(problems.map((p) => `${p.path}: ${p.message}`)).toHaveLength(1);
      expect(problems[0]!.path).toBe(c.path);
      expect(problems[0]!.message).toMatch(c.message);
    });
  }

  it('lists every alerts problem in one pass', () => {
    const text = edit('{ receiver: am, fallback', '{ receiver: pager, fallback').replace(
      '{ rack: r2,',
      '{ rack: r9,',
    );
    expect(problemsOf(text).map((p) => p.path)).toEqual([
      'alerts.routes[1].receiver',
      'alerts.overrides[2].rack',
    ]);
  });
});

describe('hotaisle validate on the alerts section', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hotaisle-alerts-validate-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints file: path: message (line), and exits 1', () => {
    const file = join(dir, 'site.yaml');
    writeFileSync(file, edit('{ receiver: am, fallback', '{ receiver: pager, fallback'));
    const lines: string[] = [];
    expect(runValidate([file], (l) => lines.push(l))).toBe(1);
    expect(lines.join('\n')).toContain(
      `${file}: alerts.routes[1].receiver: unknown receiver 'pager'; defined receivers: ops-webhook, am, bus. Add it under alerts.receivers or fix the name (line 29)`,
    );
  });

  it('passes the base site', () => {
    const file = join(dir, 'good.yaml');
    writeFileSync(file, BASE);
    const lines: string[] = [];
    expect(runValidate([file], (l) => lines.push(l))).toBe(0);
    expect(lines).toEqual([`${file}: ok (3 racks, 2 cooling units)`]);
  });
});
