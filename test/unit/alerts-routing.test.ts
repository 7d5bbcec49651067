import { describe, expect, it } from 'vitest';
import type { AlertRecord } from '../../src/alerts/lifecycle.ts';
import { alertmanagerAlert, alertPayload, groupPayloads } from '../../src/alerts/payloads.ts';
import { routesFor, unknownReceivers } from '../../src/alerts/routing.ts';
import { matchesAll } from '../../src/alerts/silences.ts';
import { fingerprintOf } from '../../src/alerts/types.ts';
import { AlertRouteSchema } from '../../src/config/schema.ts';

const T0 = Date.UTC(2026, 0, 5, 8, 0, 0);

function record(
  rack: string,
  row: string,
  severity: AlertRecord['severity'],
  state: AlertRecord['state'] = 'firing',
): AlertRecord {
  const labels = { site: 'lab', room: 'hall1', row, rack };
  return {
    fingerprint: fingerprintOf('InletBreach', labels),
    rule: 'InletBreach',
    labels,
    severity,
    state,
    value: 28,
    summary: `Rack ${rack} hot`,
    description: 'd',
    annotations: { threshold_c: '27' },
    activeAt: T0,
    firingAt: T0 + 60_000,
    ...(state === 'resolved' ? { resolvedAt: T0 + 600_000 } : {}),
    lastSeenAt: T0,
  };
}

const route = (r: object) => AlertRouteSchema.parse(r);

describe('alert routing and payloads', () => {
  it('fingerprints are stable and independent of label order', () => {
    expect(fingerprintOf('InletBreach', { rack: 'r1', site: 'lab' })).toBe(
      fingerprintOf('InletBreach', { site: 'lab', rack: 'r1' }),
    );
    expect(fingerprintOf('InletBreach', { rack: 'r1' })).not.toBe(
      fingerprintOf('InletRiseRate', { rack: 'r1' }),
    );
    expect(fingerprintOf('InletBreach', { rack: 'r1' })).not.toBe(
      fingerprintOf('InletBreach', { rack: 'r2' }),
    );
  });

  it('routes by severity and labels, first match unless continue', () => {
    const routes = [
      route({ receiver: 'pager', severities: ['critical'], continue: true }),
      route({ receiver: 'hall1-team', match: { room: 'hall1' } }),
      route({ receiver: 'everything' }),
    ];
    const crit = alertPayload(record('r1', 'row1', 'critical'), 'firing', 'http://x');
    const warn = alertPayload(record('r1', 'row1', 'warning'), 'firing', 'http://x');
    const elsewhere = { ...warn, labels: { ...warn.labels, room: 'hall2' } };
    expect(routesFor(routes, crit).map((r) => r.receiver)).toEqual(['pager', 'hall1-team']);
    expect(routesFor(routes, warn).map((r) => r.receiver)).toEqual(['hall1-team']);
    expect(routesFor(routes, elsewhere).map((r) => r.receiver)).toEqual(['everything']);
    expect(routesFor([route({ receiver: 'x', match: { alertname: 'SensorStale' } })], warn)).toEqual([]);
    expect(unknownReceivers([route({ receiver: 'a', fallback: 'b' })], [{ name: 'a' }])).toEqual(['b']);
  });

  it('groups by site/room/row; a group fires while any of its alerts fires', () => {
    const groups = groupPayloads('lab', [
      alertPayload(record('r1', 'row1', 'warning'), 'firing', 'u'),
      alertPayload(record('r2', 'row1', 'warning', 'resolved'), 'resolved', 'u'),
      alertPayload(record('s1', 'row2', 'warning', 'resolved'), 'resolved', 'u'),
    ]);
    expect(groups.map((g) => `${g.groupKey}:${g.status}:${g.alerts.length}`)).toEqual([
      'site=lab/room=hall1/row=row1:firing:2',
      'site=lab/room=hall1/row=row2:resolved:1',
    ]);
    expect(groups[1]!.alerts[0]!.endsAt).toBe(new Date(T0 + 600_000).toISOString());
  });

  it('Alertmanager form: alertname and severity labels, endsAt ahead while firing, at resolution once resolved', () => {
    const now = T0 + 120_000;
    const firing = alertmanagerAlert(
      alertPayload(record('r1', 'row1', 'critical'), 'firing', 'http://agent/v1/alerts'),
      now,
      60_000,
    );
    expect(firing).toEqual({
      labels: {
        site: 'lab',
        room: 'hall1',
        row: 'row1',
        rack: 'r1',
        alertname: 'InletBreach',
        severity: 'critical',
      },
      annotations: { summary: 'Rack r1 hot', description: 'd', threshold_c: '27' },
      startsAt: new Date(T0 + 60_000).toISOString(),
      endsAt: new Date(now + 240_000).toISOString(),
      generatorURL: 'http://agent/v1/alerts',
    });
    const resolved = alertmanagerAlert(
      alertPayload(record('r1', 'row1', 'critical', 'resolved'), 'resolved', 'u'),
      now,
      60_000,
    );
    expect(resolved.endsAt).toBe(new Date(T0 + 600_000).toISOString());
  });

  it('silence matchers: equality, regex (anchored), negation', () => {
    const labels = { alertname: 'InletBreach', rack: 'r12', severity: 'warning' };
    expect(matchesAll([{ name: 'rack', value: 'r1', isRegex: false, isEqual: true }], labels)).toBe(false);
    expect(matchesAll([{ name: 'rack', value: 'r1', isRegex: true, isEqual: true }], labels)).toBe(false);
    expect(matchesAll([{ name: 'rack', value: 'r1.*', isRegex: true, isEqual: true }], labels)).toBe(true);
    expect(
      matchesAll([{ name: 'severity', value: 'critical', isRegex: false, isEqual: false }], labels),
    ).toBe(true);
    expect(
      matchesAll(
        [
          { name: 'alertname', value: 'InletBreach', isRegex: false, isEqual: true },
          { name: 'severity', value: 'warning', isRegex: false, isEqual: false },
        ],
        labels,
      ),
    ).toBe(false);
  });
});
