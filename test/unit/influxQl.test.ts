/** The alert-history InfluxQL: what is escaped, and rows mapped back to records newest first. */
import { describe, expect, it } from 'vitest';
import { buildAlertEventsQuery, parseAlertEventsResponse, stringLiteral } from '../../src/store/influxQl.ts';

describe('buildAlertEventsQuery', () => {
  it('filters by site, time, target and rule, newest first, limited', () => {
    const text = buildAlertEventsQuery(
      { site: 'lab', from: 1000.7, to: 2000.2, rack: 'r1', alertname: 'InletBreach', limit: 5 },
      'hotaisle',
      'hotaisle_30d',
      200,
    );
    expect(text).toBe(
      'SELECT "site", "rule", "severity", "target", "state", "value", "message", "fingerprint" ' +
        'FROM "hotaisle"."hotaisle_30d"."alert" ' +
        `WHERE "site" = 'lab' AND time >= 1000ms AND time < 2001ms AND "target" = 'r1' AND "rule" = 'InletBreach' ` +
        'ORDER BY time DESC LIMIT 5',
    );
  });

  it('escapes quotes and backslashes in values, and uses the default limit', () => {
    const text = buildAlertEventsQuery({ site: "it's\\", from: 0, to: 1 }, 'db', 'rp', 200);
    expect(text).toContain(`"site" = ${stringLiteral("it's\\")}`);
    expect(stringLiteral("it's\\")).toBe("'it\\'s\\\\'");
    expect(text).toMatch(/LIMIT 200$/);
    expect(() => buildAlertEventsQuery({ site: 'x', from: Number.NaN, to: 1 }, 'db', 'rp', 200)).toThrow();
  });
});

describe('parseAlertEventsResponse', () => {
  it('maps columns by name, a missing value to NaN, and sorts newest first', () => {
    const columns = [
      'time',
      'site',
      'rule',
      'severity',
      'target',
      'state',
      'value',
      'message',
      'fingerprint',
    ];
    const events = parseAlertEventsResponse({
      results: [
        {
          series: [
            {
              columns,
              values: [
                [1000, 'lab', 'InletBreach', 'critical', 'r1', 'firing', 33, 'hot', 'fp1'],
                [2000, 'lab', 'InletBreach', 'critical', 'r1', 'resolved', null, 'ok', 'fp1'],
              ],
            },
          ],
        },
      ],
    });
    expect(events.map((e) => [e.ts, e.state, e.message])).toEqual([
      [2000, 'resolved', 'ok'],
      [1000, 'firing', 'hot'],
    ]);
    expect(events[0]?.value).toBeNaN();
    expect(events[1]).toMatchObject({ site: 'lab', rule: 'InletBreach', target: 'r1', value: 33 });
    expect(parseAlertEventsResponse({ results: [{}] })).toEqual([]);
    expect(() => parseAlertEventsResponse({ results: [{ error: 'boom' }] })).toThrow(/boom/);
  });
});
