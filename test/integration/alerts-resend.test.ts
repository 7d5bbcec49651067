/**
 * What Alertmanager's API v2 expects of a client, checked on the bodies the AlertsModule posts to a
 * stand-in endpoint on loopback: a firing alert is re-sent every alertmanagerResendSeconds with a
 * lease (endsAt) a few periods ahead of real time; a resolved one is sent with endsAt at its
 * resolution and re-sent for resolvedRetentionMinutes, then no more. The module runs on a fake clock
 * far from real time, so the test also shows which times come from which clock.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlertsModule } from '../../src/alerts/alertsModule.ts';
import type { AlertmanagerAlert } from '../../src/alerts/payloads.ts';
import { alertsContext, labInlet } from '../helpers/alertsFixtures.ts';
import { alertsLabSite } from '../helpers/sites.ts';

const SEC = 1000;
const RESEND_S = 60;

describe('Alertmanager re-sends', () => {
  const clock = { now: Date.UTC(2026, 0, 5, 9, 0, 0) };
  const t0 = clock.now;
  const posts: AlertmanagerAlert[][] = [];
  let close: () => Promise<void>;
  let dataDir: string;
  let module: AlertsModule;

  beforeAll(async () => {
    const server = createServer((req, res) => {
      let text = '';
      req.on('data', (c: Buffer) => {
        text += c.toString();
      });
      req.on('end', () => {
        if (req.url === '/api/v2/alerts') posts.push(JSON.parse(text) as AlertmanagerAlert[]);
        res.statusCode = req.url === '/api/v2/alerts' ? 200 : 404;
        res.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const addr = server.address();
    const url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
    close = () => new Promise((r) => server.close(() => r()));
    dataDir = await mkdtemp(join(tmpdir(), 'hotaisle-alerts-resend-'));
    const site = alertsLabSite({
      alerts: {
        forSeconds: 0,
        resolveSeconds: 0,
        alertmanagerResendSeconds: RESEND_S,
        resolvedRetentionMinutes: 5,
        receivers: [{ name: 'am', kind: 'alertmanager', url }],
        routes: [{ receiver: 'am' }],
      },
    });
    const ctx = alertsContext(site);
    module = new AlertsModule({ dataDir, evaluateMs: 3_600_000, retryBaseMs: 10, now: () => clock.now });
    await module.start(ctx);
  });

  afterAll(async () => {
    await module?.stop();
    await close?.();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  /** Move the clock to t0 + `atS` seconds, report r1's inlet (unless undefined), evaluate; the new posts. */
  async function at(atS: number, inletC: number | undefined): Promise<AlertmanagerAlert[][]> {
    clock.now = t0 + atS * SEC;
    if (inletC !== undefined) module.observe([labInlet('r1', inletC, clock.now)]);
    const before = posts.length;
    await module.evaluateNow();
    return posts.slice(before);
  }

  const breaches = (list: AlertmanagerAlert[][]) =>
    list.flat().filter((a) => a.labels.alertname === 'InletBreach' && a.labels.rack === 'r1');

  it('re-sends a firing alert every period with a lease on real time, then the resolution for the retention time', async () => {
    // Fires: one post, starting at the alert clock's time, leased 4 periods past real time.
    const first = breaches(await at(0, 33));
    expect(first).toHaveLength(1);
    expect(first[0]!.startsAt).toBe(new Date(t0).toISOString());
    const lease = Date.parse(first[0]!.endsAt!) - Date.now();
    expect(lease).toBeGreaterThan(4 * RESEND_S * SEC - 30 * SEC);
    expect(lease).toBeLessThanOrEqual(4 * RESEND_S * SEC);
    expect(first[0]!.labels).toMatchObject({ severity: 'critical', site: 'lab', rack: 'r1' });

    // Within the period: nothing new.
    expect(breaches(await at(30, 33))).toEqual([]);
    // A period later: re-sent, same start, a fresh lease.
    const resent = breaches(await at(RESEND_S + 1, 33));
    expect(resent).toHaveLength(1);
    expect(resent[0]!.startsAt).toBe(first[0]!.startsAt);
    expect(Date.parse(resent[0]!.endsAt!)).toBeGreaterThanOrEqual(Date.parse(first[0]!.endsAt!));

    // Recovers: the resolution goes out with endsAt at the resolution time (alert clock).
    const resolvedAtS = 90;
    const resolved = breaches(await at(resolvedAtS, 26));
    expect(resolved.map((a) => a.endsAt)).toEqual([new Date(t0 + resolvedAtS * SEC).toISOString()]);
    // Re-sent resolved for the retention time (5 min), once per period.
    const later: AlertmanagerAlert[] = [];
    for (let s = resolvedAtS + 15; s <= resolvedAtS + 5 * 60; s += 15)
      later.push(...breaches(await at(s, 26)));
    expect(later.length).toBeGreaterThanOrEqual(4);
    expect(later.length).toBeLessThanOrEqual(5);
    for (const a of later) expect(a.endsAt).toBe(new Date(t0 + resolvedAtS * SEC).toISOString());
    // Past the retention it is forgotten, here and in the posts.
    expect(breaches(await at(resolvedAtS + 5 * 60 + RESEND_S + 1, 26))).toEqual([]);
    expect(module.alerts().filter((a) => a.rule === 'InletBreach')).toEqual([]);
  });
});
