import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AlertEngine } from '../../src/alerts/engine.ts';
import { AlertLifecycle, type Notification } from '../../src/alerts/lifecycle.ts';
import { alertStatePath, loadAlertState, saveAlertState } from '../../src/alerts/persistence.ts';
import type { Condition } from '../../src/alerts/types.ts';
import type { SiteInput } from '../../src/config/schema.ts';
import { buildSiteIndex } from '../../src/config/siteIndex.ts';
import { labInlet } from '../helpers/alertsFixtures.ts';
import { alertsLabSite } from '../helpers/sites.ts';

const seconds = (n: number) => n * 1000;
const minutes = (n: number) => n * 60_000;
const T0 = Date.UTC(2026, 0, 5, 8, 0, 0);

function site(alerts: SiteInput['alerts'] = {}) {
  return alertsLabSite({
    racks: 2,
    alerts: { forSeconds: 60, resolveSeconds: 180, repeatMinutes: 60, hysteresisC: 0.5, ...alerts },
  });
}

/** Feeds one inlet value per 15 s step and evaluates; returns every notification with its time. */
function drive(engine: AlertEngine, from: number, values: readonly number[], rack = 'r1') {
  const sent: Array<{ at: number; n: Notification }> = [];
  values.forEach((v, i) => {
    const now = from + i * seconds(15);
    engine.observe([labInlet(rack, v, now)]);
    for (const n of engine.evaluate(now).notifications) sent.push({ at: now, n });
  });
  return sent;
}

const breach = (value: number, labels: Record<string, string> = { site: 'lab', rack: 'r1' }): Condition => ({
  rule: 'InletBreach',
  labels,
  severity: value >= 32 ? 'critical' : 'warning',
  value,
  summary: 's',
  description: 'd',
});

describe('alert lifecycle', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });

  it('a value hovering at the warn threshold yields one alert, not a flapping stream', () => {
    const engine = new AlertEngine(buildSiteIndex(site()));
    // 20 minutes around 27 °C (warn), dipping below it but never 0.5 °C below.
    const values = Array.from({ length: 80 }, (_, i) => (i % 2 === 0 ? 27.2 : 26.7));
    const sent = drive(engine, T0, values);
    expect(sent.map((s) => s.n.reason)).toEqual(['firing']);
    // Fires after the 60 s hold, not before.
    expect(sent[0]!.at - T0).toBe(seconds(60));
    expect(engine.lifecycle.alerts().filter((a) => a.rule === 'InletBreach')).toHaveLength(1);
  });

  it('a condition that drops out for less than the resolve hold keeps the same alert', () => {
    const engine = new AlertEngine(buildSiteIndex(site()));
    // 2 min hot, 1.5 min cool (below hysteresis), 2 min hot: the cool spell is shorter than 180 s.
    const values = [...Array(8).fill(28), ...Array(6).fill(25), ...Array(8).fill(28)];
    const sent = drive(engine, T0, values);
    expect(sent.map((s) => s.n.reason)).toEqual(['firing']);
  });

  it('resolves once, only after the condition has been clear for the resolve hold', () => {
    const engine = new AlertEngine(buildSiteIndex(site()));
    const hot = drive(engine, T0, Array(8).fill(28));
    expect(hot.map((s) => s.n.reason)).toEqual(['firing']);
    const coolFrom = T0 + seconds(15 * 8);
    const cool = drive(engine, coolFrom, Array(20).fill(24));
    expect(cool.map((s) => s.n.reason)).toEqual(['resolved']);
    // lastSeenAt was the last hot step; resolution 180 s after it, on the first 15 s step at or past that.
    const lastHot = coolFrom - seconds(15);
    expect(cool[0]!.at - lastHot).toBe(seconds(180));
    const a = engine.lifecycle.alerts()[0]!;
    expect(a.state).toBe('resolved');
    expect(a.resolvedAt).toBe(cool[0]!.at);
  });

  it('a condition that never holds for the hold time is never sent', () => {
    const engine = new AlertEngine(buildSiteIndex(site()));
    const sent = drive(engine, T0, [28, 28, 28, 20, 20, 20, 20]);
    expect(sent).toEqual([]);
    expect(engine.lifecycle.alerts()).toHaveLength(0);
  });

  it('repeats a still-firing alert every repeat interval until acknowledged; escalation pages again', () => {
    const life = new AlertLifecycle({
      forMs: 0,
      resolveMs: minutes(3),
      repeatMs: minutes(60),
      resolvedRetentionMs: minutes(60),
    });
    const reasons = (now: number, value: number) => life.step(now, [breach(value)]).map((n) => n.reason);
    expect(reasons(T0, 28)).toEqual(['firing']);
    expect(reasons(T0 + minutes(30), 28)).toEqual([]);
    expect(reasons(T0 + minutes(60), 28)).toEqual(['repeat']);
    const fp = life.alerts()[0]!.fingerprint;
    expect(life.acknowledge(fp, 'ops', 'on it', T0 + minutes(61))).toBeDefined();
    expect(reasons(T0 + minutes(125), 28)).toEqual([]);
    expect(reasons(T0 + minutes(200), 28)).toEqual([]);
    // Worse than what was sent: page again, and the acknowledgement no longer holds.
    expect(reasons(T0 + minutes(201), 33)).toEqual(['escalated']);
    expect(life.get(fp)!.acknowledgedAt).toBeUndefined();
  });

  it('a silence suppresses sending; an alert still firing when the silence ends is sent then', () => {
    const life = new AlertLifecycle({
      forMs: 0,
      resolveMs: minutes(3),
      repeatMs: minutes(60),
      resolvedRetentionMs: minutes(60),
    });
    life.addSilence({
      id: 's1',
      matchers: [{ name: 'rack', value: 'r1', isRegex: false, isEqual: true }],
      startsAt: T0,
      endsAt: T0 + minutes(30),
      createdBy: 'ops',
      comment: 'maintenance',
    });
    const other = { site: 'lab', rack: 'r2' };
    const step = (now: number) =>
      life.step(now, [breach(28), breach(28, other)]).map((n) => `${n.reason}:${n.alert.labels.rack}`);
    expect(step(T0)).toEqual(['firing:r2']);
    expect(step(T0 + minutes(10))).toEqual([]);
    const silenced = life.alerts().find((a) => a.labels.rack === 'r1')!;
    expect(life.silencedBy(silenced, T0 + minutes(10))).toEqual(['s1']);
    expect(step(T0 + minutes(30))).toEqual(['firing:r1']);
  });

  it('expiring a silence early lets the alert through on the next evaluation', () => {
    const life = new AlertLifecycle({
      forMs: 0,
      resolveMs: minutes(3),
      repeatMs: minutes(60),
      resolvedRetentionMs: minutes(60),
    });
    life.addSilence({
      id: 's1',
      matchers: [{ name: 'alertname', value: 'Inlet.*', isRegex: true, isEqual: true }],
      startsAt: T0,
      endsAt: T0 + minutes(120),
      createdBy: 'ops',
      comment: '',
    });
    expect(life.step(T0, [breach(28)])).toEqual([]);
    expect(life.expireSilence('s1', T0 + minutes(5))).toBe(true);
    expect(life.expireSilence('nope', T0 + minutes(5))).toBe(false);
    expect(life.step(T0 + minutes(6), [breach(28)]).map((n) => n.reason)).toEqual(['firing']);
  });

  it('an alert grouped under an active parent is not sent on its own', () => {
    const life = new AlertLifecycle({
      forMs: 0,
      resolveMs: 0,
      repeatMs: minutes(60),
      resolvedRetentionMs: minutes(60),
    });
    const parent: Condition = {
      rule: 'CoolingZoneWarming',
      labels: { site: 'lab', zone: 'z1' },
      severity: 'warning',
      value: 3,
      summary: 'z',
      description: 'z',
    };
    const first = life.step(T0, [parent]);
    const parentFp = first[0]!.alert.fingerprint;
    const child = { ...breach(28), groupedUnder: parentFp };
    expect(life.step(T0 + seconds(15), [parent, child])).toEqual([]);
    // Parent clears while the rack is still hot: the rack alert goes out on its own.
    expect(
      life
        .step(T0 + seconds(30), [{ ...breach(28) }])
        .map((n) => `${n.reason}:${n.alert.rule}`)
        .sort(),
    ).toEqual(['firing:InletBreach', 'resolved:CoolingZoneWarming']);
  });

  it('a restart keeps firing alerts, acknowledgements and silences, and does not re-page', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hotaisle-alerts-'));
    dirs.push(dir);
    const path = alertStatePath(dir);
    const index = buildSiteIndex(site());
    const before = new AlertEngine(index);
    expect(drive(before, T0, Array(8).fill(28)).map((s) => s.n.reason)).toEqual(['firing']);
    const fp = before.lifecycle.alerts()[0]!.fingerprint;
    before.lifecycle.acknowledge(fp, 'ops', 'known', T0 + minutes(3));
    before.lifecycle.addSilence({
      id: 's9',
      matchers: [{ name: 'rack', value: 'r2', isRegex: false, isEqual: true }],
      startsAt: T0,
      endsAt: T0 + minutes(600),
      createdBy: 'ops',
      comment: '',
    });
    await saveAlertState(path, before.lifecycle.snapshot());
    expect(JSON.parse(await readFile(path, 'utf8')).alerts).toHaveLength(1);

    const loaded = await loadAlertState(path);
    expect(loaded.problem).toBeUndefined();
    const after = new AlertEngine(index, loaded.state);
    // Down for 10 minutes (longer than the resolve hold): no readings yet, resolution held back.
    const restartAt = T0 + minutes(13);
    expect(after.evaluate(restartAt, [], { resolveAllowed: false }).notifications).toEqual([]);
    expect(after.lifecycle.get(fp)!.state).toBe('firing');
    // Readings are back and still hot: same alert, no new page, acknowledgement and silence kept.
    const sent = drive(after, restartAt + seconds(15), Array(8).fill(28));
    expect(sent).toEqual([]);
    expect(after.lifecycle.get(fp)!.acknowledgedBy).toBe('ops');
    expect(after.lifecycle.silences().map((s) => s.id)).toEqual(['s9']);
  });

  it('a corrupt state file is reported and replaced by an empty state', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hotaisle-alerts-'));
    dirs.push(dir);
    const path = alertStatePath(dir);
    await saveAlertState(path, { version: 1, alerts: [], silences: [] });
    await writeFile(path, '{"version":1,"alerts":[{');
    const loaded = await loadAlertState(path);
    expect(loaded.problem).toMatch(/invalid JSON/);
    expect(loaded.state.alerts).toEqual([]);
    expect((await loadAlertState(join(dir, 'missing.json'))).problem).toBeUndefined();
  });
});
